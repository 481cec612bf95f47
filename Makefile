# Thin wrapper over CMake: `make` builds into build/, `make test` runs ctest,
# `make bench [PROFILE=name|file]` runs a sweep (default on a GPU, quick on the
# CPU) and draws its report. Each installs what it needs first (scripts/deps.sh
# --test / --bench: bench only the build's packages and gnuplot; offline or
# without root a missing optional package is a warning). `make bundle
# [BUNDLE=dir]` makes the GPU validation bundle (scripts/gpu-bundle.sh).
# `make sanitize` runs the suite on an ASan + UBSan build; `make fuzz
# [FUZZ_SECONDS=60]` runs each libFuzzer harness of tests/fuzz for that long.
BUILD ?= build
PROFILE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DACCUMBENCH_WERROR=ON
endif

# sanitize: a CPU-only build with AddressSanitizer (LeakSanitizer on) and
# UBSan, no recovery, and the whole ctest suite on it; the Python tests spawn
# that build's binary. Every sanitizer report goes to a file under
# $(SANITIZE_BUILD)/sanitizer-logs, so one from a process whose exit status a
# test does not look at still fails the target. The valgrind tests are left
# out (valgrind cannot run an ASan binary; `make test` runs them). No
# -Werror here: gcc 12's -Wformat-truncation misfires under -fsanitize.
# SANITIZE_CTEST passes more ctest arguments (e.g. -R fuzz_replay).
SANITIZE_BUILD ?= build-asan
SANITIZE_CTEST ?=
SANITIZE_LOGS = $(abspath $(SANITIZE_BUILD))/sanitizer-logs
# fuzz: clang builds of the harnesses (CPU sources only), each run by
# scripts/fuzz.sh for FUZZ_SECONDS; FUZZ_TARGETS picks some
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_TARGETS ?= parse csv jsonread profile

BUNDLE ?= build-gpu-bundle

.PHONY: all deps test bench bundle clean sanitize fuzz

all: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

$(BUILD)/Makefile: CMakeLists.txt tests/CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

deps:
	scripts/deps.sh

test:
	scripts/deps.sh --test
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench:
	scripts/deps.sh --bench
	$(MAKE) all
	scripts/bench.sh $(BUILD)/accumbench $(PROFILE)

bundle:
	scripts/deps.sh --bundle
	scripts/gpu-bundle.sh $(BUNDLE)

sanitize:
	scripts/deps.sh --test
	cmake -S . -B $(SANITIZE_BUILD) -DACCUMBENCH_SANITIZE=ON
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	rm -rf $(SANITIZE_LOGS) && mkdir -p $(SANITIZE_LOGS)
	cd $(SANITIZE_BUILD) && OPENBLAS_NUM_THREADS=1 \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(SANITIZE_LOGS)/asan \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SANITIZE_LOGS)/ubsan \
	  ctest --output-on-failure -j $(JOBS) -LE valgrind $(SANITIZE_CTEST); rc=$$?; \
	if [ -n "$$(ls -A $(SANITIZE_LOGS))" ]; then \
	  echo "sanitize: sanitizer reports in $(SANITIZE_LOGS):"; cat $(SANITIZE_LOGS)/*; exit 1; fi; \
	echo "sanitize: no sanitizer reports"; exit $$rc

fuzz:
	scripts/deps.sh --fuzz
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DACCUMBENCH_CUDA=OFF -DACCUMBENCH_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
