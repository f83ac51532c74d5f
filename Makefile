# detvm. `make` builds the libraries and the CLI; `make test` runs every test;
# `make test SANITIZE=1` runs them under AddressSanitizer and UndefinedBehaviorSanitizer.

CC ?= cc
SOVERSION := 0
VERSION := 0.1.0
BUILD ?= build
ifeq ($(SANITIZE),1)
BUILD := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

OPT ?= -O3
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS += -std=c11 $(OPT) -g $(WARN) -ffp-contract=off -fPIC -D_POSIX_C_SOURCE=200809L $(SANFLAGS) -Iinclude
LDFLAGS += $(SANFLAGS)
HOST_LIBS := -ljansson -lsodium -lxxhash -lsqlite3 -lpng -lm

CORE_SRC := $(wildcard ops/*.c) $(wildcard ops/x86/*.c) $(wildcard hal/*.c) $(wildcard hal/*/*.c) $(wildcard vm/*.c)
HOST_SRC := $(wildcard loader/*.c) $(wildcard verify/*.c) $(wildcard registry/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRC) $(HOST_SRC))
COMPAT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard compat/*.c))
CLI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))

all: $(BUILD)/libdetvm.a $(BUILD)/libdetvm.so $(BUILD)/libcvm_runtime.so $(BUILD)/detvm

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libdetvm.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# libdetvm.so -> libdetvm.so.0 -> libdetvm.so.0.1.0, the SONAME being libdetvm.so.0
$(BUILD)/libdetvm.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libdetvm.so.$(SOVERSION) $(LDFLAGS) -o $@.$(VERSION) $^ $(HOST_LIBS)
	ln -sf libdetvm.so.$(VERSION) $(BUILD)/libdetvm.so.$(SOVERSION)
	ln -sf libdetvm.so.$(SOVERSION) $@

$(BUILD)/libcvm_runtime.so: $(COMPAT_OBJ) $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libcvm_runtime.so $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

$(BUILD)/detvm: $(CLI_OBJ) $(BUILD)/libdetvm.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libdetvm.a $(HOST_LIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libdetvm.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iloader -Iops -Ivm -o $@ $< $(BUILD)/libdetvm.a $(HOST_LIBS) -ldl

test: all $(TESTS)
	@BUILD=$(BUILD) sh tests/run.sh $(TESTS)

SHARED ?= ../shared
BENCH_CASES := $(wildcard $(SHARED)/conformance/cvm/medium/*) \
               $(wildcard $(SHARED)/models/tflite/*) \
               $(wildcard $(SHARED)/models/kmodel/*)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libdetvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libdetvm.a $(HOST_LIBS)

# Time per inference of the medium CVM models, the TFLite models and the kmodels (skipped when
# ../shared is absent); then `detvm bench` (bench/detvm_bench.sh) on the ResNet-18-shaped and
# MobileNet-v1-shaped CVM models, MobileNetV2 and person_detect: the reference kernels, and the
# default ones on 1 and 2 threads, each as GMAC/s and a fraction of the VNNI peak measured in
# the same run.
bench: $(BUILD)/bench/bench_models $(BUILD)/bench/bench_registry $(BUILD)/detvm
	@if [ -n "$(BENCH_CASES)" ]; then $(BUILD)/bench/bench_models -n 20 $(BENCH_CASES); \
	else echo "bench: $(SHARED) is absent, nothing to measure"; fi
	@BUILD=$(BUILD) SHARED=$(SHARED) sh bench/detvm_bench.sh 20
	@$(BUILD)/bench/bench_registry -n 100000

# The registry (docs/registry.md): the time recording a run adds, and listing one model's latest
# 100 runs among 1,000,000 recorded runs (`make bench` runs it with 100,000).
bench-registry: $(BUILD)/bench/bench_registry $(BUILD)/detvm
	@$(BUILD)/bench/bench_registry -n 1000000

# The full forms of the registry's crash test (200 kills) and concurrency test (8 processes at
# once); `make test` runs their short forms.
registry-stress: $(BUILD)/detvm $(BUILD)/tests/test_registry_stress
	@DETVM_STRESS=1 BUILD=$(BUILD) $(BUILD)/tests/test_registry_stress

clean:
	rm -rf build build-san build-det build-riscv64

# The kernel variants (ops/variant.h): their differential tests, then the CVM conformance
# corpus, the TFLite models and the kmodels again with each variant level forced and with 1 and
# 2 threads (a level this CPU lacks runs the levels below it, which must pass all the same).
VARIANT_TESTS := $(BUILD)/tests/test_variants $(BUILD)/tests/test_variants_nn
VARIANT_CORPORA := $(BUILD)/tests/test_conformance $(BUILD)/tests/test_tflite_models \
                   $(BUILD)/tests/test_kmodels
test-variants: $(VARIANT_TESTS) $(VARIANT_CORPORA)
	@BUILD=$(BUILD) sh tests/run.sh $(VARIANT_TESTS)
	@for kt in avx2:1 avx2:2 vnni:1 vnni:2; do \
	    echo "DETVM_KERNELS=$${kt%:*} DETVM_THREADS=$${kt#*:}"; \
	    DETVM_KERNELS=$${kt%:*} DETVM_THREADS=$${kt#*:} BUILD=$(BUILD) \
	        sh tests/run.sh $(VARIANT_CORPORA) || exit 1; \
	done

.PHONY: all test test-variants bench bench-registry registry-stress clean
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# The determinism matrix (tests/determinism.sh): the runtime core and a conformance runner built
# with gcc -O0, gcc -O3 -march=native, clang, -m32, and for aarch64 and s390x under qemu-user,
# must all give the host's trace roots on every case. determinism-ci: the CI subset.
$(BUILD)/determinism_prepare: tests/determinism_prepare.c tests/determinism.h tests/corpus.h \
                              $(BUILD)/libdetvm.a
	$(CC) $(CFLAGS) -Ivm -o $@ $< $(BUILD)/libdetvm.a $(HOST_LIBS)

determinism: $(BUILD)/determinism_prepare
	@BUILD=$(BUILD) DETVM_SHARED=$(SHARED) sh tests/determinism.sh

determinism-ci: $(BUILD)/determinism_prepare
	@BUILD=$(BUILD) DETVM_SHARED=$(SHARED) sh tests/determinism.sh --ci

.PHONY: determinism determinism-ci

# The runtime core cross-compiled freestanding for the K210 (riscv64, picolibc), linked with a
# firmware-shaped program into the K210's 6 MiB of general SRAM: code from 0x80000000, data
# from 0x80300000 (the KPU's 2 MiB follow at 0x80600000).
RV_CC := riscv64-unknown-elf-gcc
RV_FLAGS := --specs=picolibc.specs --oslib=semihost -march=rv64imafdc -mabi=lp64d \
            -mcmodel=medany -ffreestanding -std=c11 -O2 -ffp-contract=off $(WARN) -Werror \
            -DDETVM_K210_BOARD -Iinclude -Ibuild-riscv64/include
RV_LINK := -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x300000 \
           -Wl,--defsym=__ram=0x80300000 -Wl,--defsym=__ram_size=0x300000

riscv64:
	@mkdir -p build-riscv64/include
	@ln -sf /usr/include/xxhash.h build-riscv64/include/xxhash.h
	$(RV_CC) $(RV_FLAGS) $(RV_LINK) -o build-riscv64/detvm_k210.elf $(CORE_SRC) \
	    tests/riscv64_firmware.c
	@echo "riscv64: build-riscv64/detvm_k210.elf links ($(words $(CORE_SRC)) core files)"

.PHONY: riscv64
