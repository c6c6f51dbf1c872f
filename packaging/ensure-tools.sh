#!/usr/bin/env bash
# ensure-tools.sh COMMAND=PACKAGE...: installs, from the machine's own apt
# sources, the Debian package of each command that is missing, saying so.
# A COMMAND starting with / is a file that the package provides.
# A fresh machine (CI) has none of the packaging tools; apt-get update runs once.
set -euo pipefail
missing=()
for pair in "$@"; do
	cmd=${pair%%=*} pkg=${pair#*=}
	case $cmd in
	/*) [ -e "$cmd" ] || missing+=("$pkg") ;;
	*) command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg") ;;
	esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing tools; as root run: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "== installing ${missing[*]} (Debian packages: missing on this machine)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
