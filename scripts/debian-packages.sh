# Sourced by the setup scripts.
#   install_debian_packages WHO PACKAGE...
# Installs those of the Debian packages that are not installed (as root), or, when not root,
# says which command installs them and fails. WHO prefixes the messages.
install_debian_packages() {
	local who=$1
	shift
	local missing=() pkg
	for pkg in "$@"; do
		# Read whole, not piped into grep -q: under pipefail that fails when grep quits first.
		if [[ $(dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null) != 'install ok installed' ]]; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]} > 0)) || return 0
	if [[ $(id -u) -ne 0 ]]; then
		echo "$who: missing Debian packages: ${missing[*]}" >&2
		echo "$who: install them as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
	echo "$who: installing Debian packages: ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >&2
}
