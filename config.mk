# colnet build configuration: the only file a user edits. Comments stay on their own line
# (text after a value, even before '#', becomes part of the value).

# install paths
PREFIX    = /usr/local
INCPREFIX = $(PREFIX)/include
LIBPREFIX = $(PREFIX)/lib
BINPREFIX = $(PREFIX)/bin
MANPREFIX = $(PREFIX)/share/man
# set PCPREFIX empty to skip installing colnet.pc
PCPREFIX  = $(LIBPREFIX)/pkgconfig

# tools
CC     = cc
AR     = ar
RANLIB = ranlib
LD      = ld
OBJCOPY = objcopy

# flags. -O3 because GCC 12 vectorizes the pooling, activation and optimizer loops only there
# (-O2's cost model is "very cheap"); -fno-math-errno because nothing reads errno after math.
# ARCHFLAGS = -march=native builds for this CPU only (libcolnet.a then will not run
# on older ones); the default runs anywhere x86-64 does, and OpenBLAS picks its kernels at run time.
ARCHFLAGS =
CPPFLAGS  = -D_POSIX_C_SOURCE=200809L
CFLAGS    = -std=c11 -O3 -fno-math-errno -fPIC -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes $(ARCHFLAGS) $(OMPFLAGS)
LDFLAGS   = $(OMPFLAGS)
# Instruction sets the hot loops (pooling, activations, batch norm, im2col, the small GEMMs,
# optimizers) are compiled for, each chosen at load time for the CPU at hand (GCC's
# target_clones; `default` is baseline x86-64 and must stay). CLONES = avx2 default builds a
# library with no AVX-512 code at all, to test and time the path of CPUs without it; a list
# other than this default builds into its own directory (build-avx2/ for that one).
CLONES = avx512f avx2 default
# OpenMP: colnet's memory-bound loops and OpenBLAS share one thread pool (set OMPFLAGS empty
# and BLAS_VARIANT = pthread for a build without OpenMP)
OMPFLAGS  = -fopenmp

# BLAS: any CBLAS works. By default Debian's OpenMP build of OpenBLAS
# (libopenblas-openmp-dev), linked with an rpath so the system's choice of libopenblas.so.0
# cannot swap in the pthread build, whose spinning threads fight colnet's OpenMP threads over
# the cores. Override both lines for another BLAS, e.g. BLAS_CFLAGS = -I/opt/OpenBLAS/include
# and BLAS_LIBS = -L/opt/OpenBLAS/lib -Wl,-rpath,/opt/OpenBLAS/lib -lopenblas
BLAS_VARIANT = openmp
MULTIARCH   != $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu
BLAS_DIR     = /usr/lib/$(MULTIARCH)/openblas-$(BLAS_VARIANT)
BLAS_CFLAGS  = -I/usr/include/$(MULTIARCH)/openblas-$(BLAS_VARIANT)
BLAS_LIBS    = -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
ZLIB_LIBS   = -lz
TEST_LIBS   = -lcmocka

# The colnet tool's pictures (the library links neither): libpng encodes and decodes PNG,
# stb_truetype (libstb-dev) draws text with a TrueType font read at run time (COLNET_FONT
# overrides PLOT_FONT).
PNG_CFLAGS != pkg-config --cflags libpng 2>/dev/null || echo
PNG_LIBS   != pkg-config --libs libpng 2>/dev/null || echo -lpng16
STB_CFLAGS != pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb
STB_LIBS   != pkg-config --libs stb 2>/dev/null || echo -lstb
PLOT_FONT   = /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

# hardening: libFuzzer's compiler and run time per harness (make fuzz), and the packages that
# make fuzz and make valgrind install when missing
FUZZ_CC         = clang-14
FUZZ_SECONDS    = 60
HARDEN_PACKAGES = clang-14 libclang-rt-14-dev valgrind

# ONNX import and export live in their own archive, libcolnet-onnx.a, beside libcolnet.a (an
# embedder who never reads ONNX links no protobuf-c). protoc-c generates its reader and writer
# at build time, into the build directory, from Debian's onnx.proto (libonnx-dev).
ONNX_PROTO         = /usr/include/onnx/onnx.proto
PROTOC_C           = protoc-c
PROTOBUF_C_CFLAGS != pkg-config --cflags libprotobuf-c 2>/dev/null || echo
PROTOBUF_C_LIBS   != pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c
ONNX_PACKAGES      = libonnx-dev protobuf-c-compiler libprotobuf-c-dev
# what the ONNX tests check against: onnx.checker, PyTorch 1.13's exporter, and ONNX Runtime
# (npm onnxruntime-node, test-only, installed into tests/onnx/node_modules by tests/onnx.sh)
ONNX_TEST_PACKAGES = python3-onnx python3-torch python3-numpy

# Debian packages `make deps` installs
DEB_PACKAGES = build-essential pkg-config libopenblas-openmp-dev libcmocka-dev zlib1g-dev \
	clang-format curl ca-certificates libpng-dev libstb-dev fonts-dejavu-core \
	$(ONNX_PACKAGES) $(ONNX_TEST_PACKAGES)

# MPI (make MPI=1, into build-mpi/): the colnet tool trains one model in many processes under
# mpirun; the library never needs MPI. `make deps MPI=1` adds the packages.
MPICC        = mpicc
MPIRUN       = mpirun
MPI_PACKAGES = openmpi-bin libopenmpi-dev
