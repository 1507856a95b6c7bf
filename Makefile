# fke - build, test and demo. `make help` lists the targets.
CC      ?= gcc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g -Wall -Wextra -std=c11 -fopenmp -D_GNU_SOURCE
CPPFLAGS = -Isrc -I/usr/include/hdf5/serial -I/usr/include/cairo
# OpenMPI (data-parallel training, src/core/dist.c, the only file that sees mpi.h)
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null || echo -lmpi)
LDLIBS   = -lopenblas -lhdf5_serial -lpng -ljpeg -lcjson -lz -lm -lprotobuf-c -lcairo $(MPI_LIBS)
B        = build

# src/ is layered (src/README.md): cli -> run -> model -> nn -> core, and
# run/model -> data -> core. The operations (src/nn/ and src/core/core.c) are
# built a second time with fke_real = double for the gradient check
# (src/gradcheck/, the fke-gradcheck binary).
CMD_SRC  = $(wildcard src/cli/*.c)
GC_SRC   = $(wildcard src/gradcheck/*.c)
OPS_SRC  = src/core/core.c $(wildcard src/nn/*.c)
LIB_SRC  = $(wildcard src/core/*.c src/nn/*.c src/data/*.c src/model/*.c src/run/*.c)
LIB_OBJ  = $(LIB_SRC:src/%.c=$(B)/obj/%.o) $(B)/obj/gen/onnx.pb-c.o
CMD_OBJ  = $(CMD_SRC:src/%.c=$(B)/obj/%.o)
DBL_OBJ  = $(OPS_SRC:src/%.c=$(B)/dbl/%.o) $(GC_SRC:src/%.c=$(B)/dbl/%.o)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(B)/tests/%)
# programs the shell tests call (not tests themselves: tests/run.sh runs test_* only)
HELPER_SRC = $(wildcard tests/helpers/*.c)
HELPER_BIN = $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/helpers/%)
# fuzz targets (tests/fuzz/fuzz.h): with tests/fuzz/driver.c for make test's
# smoke and crash replay; with libFuzzer for make fuzz (tools/fuzz.sh)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
# Header dependencies come from the compiler (-MMD -MP), one .d per object.
DEPFLAGS = -MMD -MP

.PHONY: all deps deps-python test gradcheck demo data clean asan ubsan help fuzz
all: $(B)/fke $(B)/fke-gradcheck

help:
	@echo "make deps       install Debian packages fke needs (idempotent)"
	@echo "make deps-python  python3-torch, -torchvision, -h5py, -onnx for tools/*.py (not for make test)"
	@echo "make            build build/libfke.a, build/fke, build/fke-gradcheck"
	@echo "make test       install deps, build, run every test; ends 'N passed, N failed'"
	@echo "make demo       install, build, make FashionKE-synth, train, eval, extract, knowledge"
	@echo "make data       the data files of the shipped configs (data/synth-*.h5, data/fmnist-*.h5)"
	@echo "make asan|ubsan build and test with ASan+UBSan, or UBSan (into build-asan/, build-ubsan/)"
	@echo "make fuzz       libFuzzer + ASan/UBSan on every parser, FUZZ_TIME s each (build-fuzz/)"

deps:
	@sh tools/deps.sh

# Debian's PyTorch, torchvision, h5py and ONNX for the scripts in tools/ (the
# PyTorch references, benchmarks and weight import); make test never needs them
deps-python:
	@sh tools/deps.sh python

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -c $< -o $@
$(B)/dbl/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -DFKE_DOUBLE $(CFLAGS) -c $< -o $@
$(B)/tests:
	mkdir -p $@
# ONNX export (src/run/onnx_graph.c): the protobuf-c code of onnx.proto is
# generated at build time from the onnx.proto Debian's python3-onnx installs,
# so it always matches the installed libprotobuf-c (README: "Using a trained
# model elsewhere").
ONNX_PROTO ?= /usr/lib/python3/dist-packages/onnx/onnx.proto
$(B)/gen/onnx.pb-c.c: $(ONNX_PROTO)
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen --proto_path=$(dir $(ONNX_PROTO)) $(notdir $(ONNX_PROTO))
$(B)/gen/onnx.pb-c.h: $(B)/gen/onnx.pb-c.c ;
$(B)/obj/gen/onnx.pb-c.o: $(B)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) -I$(B)/gen $(CFLAGS) -w -c $< -o $@
$(B)/obj/run/onnx_graph.o: $(B)/gen/onnx.pb-c.h
$(B)/obj/run/onnx_graph.o: CPPFLAGS += -I$(B)/gen
$(B)/obj/core/dist.o: CPPFLAGS += $(MPI_CFLAGS)
# vmath.c: no FP-exception semantics, so GCC can turn its clamps into vector
# blends; it changes no value (src/nn/vmath.c)
$(B)/obj/nn/vmath.o $(B)/dbl/nn/vmath.o: CPPFLAGS += -fno-trapping-math

$(B)/libfke.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/fke: $(CMD_OBJ) $(B)/libfke.a
	$(CC) $(CFLAGS) -o $@ $(CMD_OBJ) $(B)/libfke.a $(LDLIBS)
# `fke --version`: core/version.o gets the version and the commit built, and depends on
# a stamp that is rewritten only when the commit (or its -dirty) changes.
FKE_VERSION = 0.1.0
FKE_GIT    := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(B)/obj/core/version.o: CPPFLAGS += -DFKE_VERSION='"$(FKE_VERSION)"' -DFKE_GIT='"$(FKE_GIT)"'
$(B)/obj/core/version.o: $(B)/git.stamp
$(B)/git.stamp: FORCE
	@mkdir -p $(B) && echo '$(FKE_GIT)' | cmp -s - $@ || echo '$(FKE_GIT)' > $@
FORCE:
$(B)/fke-gradcheck: $(DBL_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/%: tests/%.c $(B)/libfke.a | $(B)/tests
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -MF $(B)/tests/.$*.d -Itests $(CFLAGS) -o $@ $< $(B)/libfke.a $(LDLIBS)

$(B)/tests/helpers/%: tests/helpers/%.c $(B)/libfke.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -MF $(B)/tests/helpers/.$*.d -Itests $(CFLAGS) -o $@ $< $(B)/libfke.a $(LDLIBS)

# per-layer Winograd vs im2col timing (not built by all: tools/bench_conv.c)
$(B)/bench_conv: tools/bench_conv.c $(B)/libfke.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(B)/libfke.a $(LDLIBS)

# batch norm + ReLU + pool passes against a memory bound (tools/bench_bn.c)
$(B)/bench_bn: tools/bench_bn.c $(B)/libfke.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(B)/libfke.a $(LDLIBS)

$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c $(B)/libfke.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -MF $(B)/fuzz/.$*.d -Itests/fuzz $(CFLAGS) -o $@ $< tests/fuzz/driver.c $(B)/libfke.a $(LDLIBS)

FUZZ_TIME ?= 60
fuzz: all $(FUZZ_BIN)
	@$(MAKE) --no-print-directory B=build-fuzz CC=clang OPT="-O1 -fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libfke.a
	@sh tools/fuzz.sh $(B) build-fuzz $(FUZZ_TIME)

gradcheck: $(B)/fke $(B)/fke-gradcheck
	$(B)/fke gradcheck

test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(HELPER_BIN) $(FUZZ_BIN)
	@sh tests/run.sh $(B)

# the data files the shipped configs name (tools/data.sh)
data: deps
	@$(MAKE) --no-print-directory all
	@sh tools/data.sh $(B)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh $(B)

# ASan and UBSan together (any undefined behaviour stops the test that hit
# it); a library's memory kept until exit is suppressed (tests/lsan.supp)
asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(MAKE) B=build-asan OPT="-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" test
ubsan:
	$(MAKE) B=build-ubsan OPT="-O1 -fsanitize=undefined -fno-sanitize-recover" test

clean:
	rm -rf build build-asan build-ubsan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(DBL_OBJ:.o=.d) $(TEST_SRC:tests/%.c=$(B)/tests/.%.d) $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/helpers/.%.d) $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/.%.d)
