# colnet build configuration: the only file a user edits. Comments stay on their own line
# (text after a value, even before '#', becomes part of the value).

# install paths
PREFIX    = /usr/local
INCPREFIX = $(PREFIX)/include
LIBPREFIX = $(PREFIX)/lib
BINPREFIX = $(PREFIX)/bin
# set PCPREFIX empty to skip installing colnet.pc
PCPREFIX  = $(LIBPREFIX)/pkgconfig

# tools
CC     = cc
AR     = ar
RANLIB = ranlib

# flags. -O3 because GCC 12 vectorizes the pooling, activation and optimizer loops only there
# (-O2's cost model is "very cheap"); -fno-math-errno because nothing reads errno after math.
# ARCHFLAGS = -march=native builds for this CPU only (libcolnet.a then will not run
# on older ones); the default runs anywhere x86-64 does, and OpenBLAS picks its kernels at run time.
ARCHFLAGS =
CPPFLAGS  = -D_POSIX_C_SOURCE=200809L
CFLAGS    = -std=c11 -O3 -fno-math-errno -fPIC -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes $(ARCHFLAGS)
LDFLAGS   =

# BLAS: any CBLAS works; pkg-config finds Debian's OpenBLAS (libopenblas-dev). Override both
# lines if pkg-config is absent, e.g. BLAS_CFLAGS = -I/opt/OpenBLAS/include and
# BLAS_LIBS = -L/opt/OpenBLAS/lib -lopenblas
BLAS_CFLAGS != pkg-config --cflags openblas 2>/dev/null || echo
BLAS_LIBS   != pkg-config --libs openblas 2>/dev/null || echo -lopenblas
ZLIB_LIBS   = -lz
TEST_LIBS   = -lcmocka

# Debian packages `make deps` installs
DEB_PACKAGES = build-essential pkg-config libopenblas-dev libcmocka-dev zlib1g-dev \
	clang-format curl ca-certificates
