#!/bin/sh
# Install whichever of the given Debian packages are missing (as root), or say how to.
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing; run 'sudo make deps' (or apt-get install them)"
	exit 1
fi
echo "installing missing Debian packages:$missing"
apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
