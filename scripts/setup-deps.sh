#!/usr/bin/env bash
# Installs what Capriccio needs to build, test and demo; safe to run again.
#  1. Debian packages (as root; otherwise says which command to run).
#  2. npm devDependencies (npm ci) when node_modules is missing or stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages, one word each. Append here as the project grows.
#   gcc, make: toolchain; g++: the runtime's C++ thread_local test; binutils: ld.gold, addr2line, readelf; liburing-dev: io_uring;
#   chromium: the browser the webview tests drive (playwright-core, never a browser download);
#   curl: an HTTP client the knot sample is tested with; wrk: the load generator of the demo and bench:http;
#   libzstd-dev, libuv1-dev, libmicrohttpd-dev: the real libraries of the compatibility suite (compat/),
#   zstd: the command that checks its compressed output; libaio-dev: a Debian library whose calls block
#   out of Capriccio's sight, for the annotation tests (runtime/tests, extension/test);
#   pkgconf: pkg-config, with which runtime/tests/pkg_config.sh builds a program from capriccio.pc;
#   golang-go: `go tool pprof`, which reads the profiles `capriccio export --format pprof` writes (extension/test/pprof.test.ts).
DEBIAN_PACKAGES="gcc g++ make binutils liburing-dev chromium curl wrk libzstd-dev zstd libuv1-dev libmicrohttpd-dev libaio-dev pkgconf golang-go"

# shellcheck source=scripts/debian-packages.sh
. scripts/debian-packages.sh
install_debian_packages setup-deps $DEBIAN_PACKAGES

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
	echo "setup-deps: installing npm packages (npm ci)" >&2
	npm ci --no-audit --no-fund >&2
fi
