#!/usr/bin/env bash
# Installs what the VS Code tests (npm run test:vscode) need; safe to run again, and
# quick when everything is already there.
#  1. Debian packages (as root; otherwise says which command to run).
#  2. code-server 4.100.3 (a real VS Code 1.100.3 served to a browser; npm package) into
#     .vscode-test/code-server/, unless that version is already installed there.
# No VS Code or browser download: code-server comes from the npm registry, the browser is
# Debian's chromium, and @vscode/ripgrep's download is answered from a cache seeded with
# Debian's rg. Recipe: ../shared/TESTING-VSCODE.md (verified on Debian 12, Node 20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep as pinned by code-server 4.100.3 and the rg release it fetches.
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

# Debian packages, one word each.
#   chromium: the browser that shows the workbench (driven by playwright-core, never a browser download);
#   ripgrep: seeds @vscode/ripgrep's cache (its postinstall would download rg);
#   libkrb5-dev, libx11-dev, libxkbfile-dev, libsecret-1-dev: headers for code-server's native modules
#   (kerberos, native-keymap, keytar), built by node-gyp; g++, make: node-gyp's toolchain.
DEBIAN_PACKAGES="chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev g++ make"

# node-gyp also needs a python3; any on PATH will do (it need not be Debian's).
python=()
command -v python3 >/dev/null || python=(python3)
# shellcheck source=scripts/debian-packages.sh
. scripts/debian-packages.sh
install_debian_packages setup-vscode-test $DEBIAN_PACKAGES "${python[@]}"

base=$PWD/.vscode-test
dir=$base/code-server
# Written last, after a complete install: a half-finished install is redone, not trusted.
marker=$dir/.installed-$CODE_SERVER_VERSION

installed_version() {
	node -p "require('$dir/node_modules/code-server/package.json').version" 2>/dev/null || true
}

if [[ -f $marker && $(installed_version) == "$CODE_SERVER_VERSION" && -x $dir/node_modules/.bin/code-server ]]; then
	exit 0
fi

echo "setup-vscode-test: installing code-server@$CODE_SERVER_VERSION into .vscode-test/code-server (about 300 MB)" >&2
rm -rf "$dir"
mkdir -p "$dir"

# @vscode/ripgrep's postinstall first looks for its download in a cache under $TMPDIR.
tmp=$base/tmp
rm -rf "$tmp"
mkdir -p "$tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION" "$tmp/rg"
cp "$(command -v rg)" "$tmp/rg/rg"
tar czf "$tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION/$RIPGREP_ASSET" -C "$tmp/rg" rg

cat >"$dir/package.json" <<'EOF'
{
  "name": "capriccio-vscode-test-code-server",
  "private": true,
  "description": "code-server for npm run test:vscode; installed by scripts/setup-vscode-test.sh"
}
EOF

# npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which otherwise refuses without
# a terminal. unsafe_perm: as root the postinstall scripts insist on it. kerberos and argon2
# try a prebuilt download, fail, and build from source: expected.
log=$base/code-server-install.log
if ! (cd "$dir" && TMPDIR=$tmp npm_config_yes=true npm_config_unsafe_perm=true \
	npm install --unsafe-perm --foreground-scripts --no-audit --no-fund \
	"code-server@$CODE_SERVER_VERSION") >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "setup-vscode-test: npm install code-server@$CODE_SERVER_VERSION failed; full log: $log" >&2
	exit 1
fi

if [[ $(installed_version) != "$CODE_SERVER_VERSION" || ! -x $dir/node_modules/.bin/code-server ]]; then
	echo "setup-vscode-test: code-server@$CODE_SERVER_VERSION did not install; log: $log" >&2
	exit 1
fi
rm -rf "$tmp"
touch "$marker"
echo "setup-vscode-test: code-server@$CODE_SERVER_VERSION installed" >&2
