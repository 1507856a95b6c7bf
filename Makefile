# fke - build, test and demo. `make help` lists the targets.
CC      ?= gcc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g -Wall -Wextra -std=c11 -fopenmp -D_GNU_SOURCE
CPPFLAGS = -Isrc -I/usr/include/hdf5/serial
LDLIBS   = -lopenblas -lhdf5_serial -lpng -lcjson -lz -lm
B        = build

# Operations built a second time with fke_real = double for the gradient check.
OPS     = core linear conv2d batchnorm pool activation tensor_ops embedding textcnn \
          lstm gru loss transition optim
OPS_SRC = $(wildcard $(addprefix src/,$(addsuffix .c,$(OPS))))
GC_SRC  = src/gradcheck.c src/gc_main.c $(wildcard src/gc_[a-z]*.c)
GC_SRC := $(filter-out src/gc_main.c,$(GC_SRC)) src/gc_main.c
CMD_SRC = src/main.c $(wildcard src/cmd_*.c)
LIB_SRC = $(filter-out $(CMD_SRC) $(GC_SRC),$(wildcard src/*.c))
LIB_OBJ = $(LIB_SRC:src/%.c=$(B)/obj/%.o)
CMD_OBJ = $(CMD_SRC:src/%.c=$(B)/obj/%.o)
DBL_OBJ = $(OPS_SRC:src/%.c=$(B)/dbl/%.o) $(GC_SRC:src/%.c=$(B)/dbl/%.o)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(B)/tests/%)

.PHONY: all deps test gradcheck demo clean asan ubsan help
all: $(B)/fke $(B)/fke-gradcheck

help:
	@echo "make deps       install Debian packages fke needs (idempotent)"
	@echo "make            build build/libfke.a, build/fke, build/fke-gradcheck"
	@echo "make test       install deps, build, run every test; ends 'N passed, N failed'"
	@echo "make demo       install, build, make FashionKE-synth, train, eval, extract, knowledge"
	@echo "make asan|ubsan build and test with a sanitizer (into build-asan/, build-ubsan/)"

deps:
	@sh tools/deps.sh

$(B)/obj/%.o: src/%.c $(wildcard src/*.h) | $(B)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(B)/dbl/%.o: src/%.c $(wildcard src/*.h) | $(B)/dbl
	$(CC) $(CPPFLAGS) -DFKE_DOUBLE $(CFLAGS) -c $< -o $@
$(B)/obj $(B)/dbl $(B)/tests:
	mkdir -p $@

$(B)/libfke.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/fke: $(CMD_OBJ) $(B)/libfke.a
	$(CC) $(CFLAGS) -o $@ $(CMD_OBJ) $(B)/libfke.a $(LDLIBS)
$(B)/fke-gradcheck: $(DBL_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/%: tests/%.c $(wildcard tests/*.h) $(B)/libfke.a | $(B)/tests
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ $< $(B)/libfke.a $(LDLIBS)

gradcheck: $(B)/fke $(B)/fke-gradcheck
	$(B)/fke gradcheck

test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@sh tests/run.sh $(B)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh $(B)

asan:
	$(MAKE) B=build-asan OPT="-O1 -fsanitize=address -fno-omit-frame-pointer" test
ubsan:
	$(MAKE) B=build-ubsan OPT="-O1 -fsanitize=undefined -fno-sanitize-recover" test

clean:
	rm -rf build build-asan build-ubsan
