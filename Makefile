# Thin wrapper over CMake: `make` builds into build/, `make test` runs ctest,
# `make bench [PROFILE=name|file]` runs a sweep (default on a GPU, quick on the
# CPU) and draws its report. Both install missing packages first.
# `make fuzz [FUZZ_SECONDS=60]` runs each libFuzzer harness of tests/fuzz for
# that long.
BUILD ?= build
PROFILE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DACCUMBENCH_WERROR=ON
endif

# fuzz: clang builds of the harnesses (CPU sources only), each run by
# scripts/fuzz.sh for FUZZ_SECONDS; FUZZ_TARGETS picks some
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_TARGETS ?= parse csv jsonread profile

.PHONY: all deps test bench clean fuzz

all: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

$(BUILD)/Makefile: CMakeLists.txt tests/CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

deps:
	scripts/deps.sh

test: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps all
	scripts/bench.sh $(BUILD)/accumbench $(PROFILE)

fuzz:
	scripts/deps.sh --fuzz
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DACCUMBENCH_CUDA=OFF -DACCUMBENCH_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
