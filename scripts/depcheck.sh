#!/bin/sh
# Say which Debian package is missing in one line, before the compiler says it in fifty.
cc=$1 blas_cflags=$2
need() { # header package
	printf '#include <%s>\nint main(void){return 0;}\n' "$1" |
		$cc $blas_cflags -x c -fsyntax-only - 2>/dev/null ||
		{ echo "missing $1: install the Debian package $2 (or run 'make deps' as root)"; exit 1; }
}
command -v "$cc" >/dev/null 2>&1 || { echo "missing C compiler '$cc': install build-essential"; exit 1; }
need cblas.h libopenblas-openmp-dev
need zlib.h zlib1g-dev
need png.h libpng-dev
need stb/stb_truetype.h libstb-dev
exit 0
