# Thin wrapper over CMake: `make` builds into build/, `make test` runs ctest,
# `make bench [PROFILE=name|file]` runs a sweep (default on a GPU, quick on the
# CPU) and draws its report. Both install missing packages first.
BUILD ?= build
PROFILE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DACCUMBENCH_WERROR=ON
endif

.PHONY: all deps test bench clean

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

clean:
	rm -rf $(BUILD)
