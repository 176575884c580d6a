# The two commands: `make demo` and `make test`. Both install what is missing (Debian
# packages, via ci/setup.sh), configure, build, and run.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup configure build test test-reseed test-libtorch2 test-libtorch26 test-cross-lane test-asan fuzz demo bench clean

all: build

# What installs the packages; the LibTorch 2.x lane's root has them already (SETUP=true).
SETUP ?= bash ci/setup.sh
setup:
	$(SETUP)

$(BUILD_DIR)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/CMakeCache.txt

build: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Tests share an extraction cache that starts empty, in the build directory rather than
# ~/.cache/synapse.
test: build
	rm -rf $(BUILD_DIR)/test-cache
	SYNAPSE_CACHE_DIR=$(abspath $(BUILD_DIR))/test-cache \
		ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The tests that read models PyTorch trains at build time (ctest label "trained"), on models
# retrained with another seed (FIXTURE_SEED) in a build directory of its own: what a model
# learns differs from one machine to the next, and no test may depend on it. The compiler
# cache makes its build a replay of the main one's; the cost is the training and the tests.
RESEED_BUILD_DIR ?= build-reseed
FIXTURE_SEED ?= 7
RESEED_TARGETS = synapse_cli analysis_tests review_sentiment_robustness synapse_trained_fixture review_sentiment_model
test-reseed: setup
	cmake -S . -B $(RESEED_BUILD_DIR) $(CMAKE_FLAGS) -DSYNAPSE_FIXTURE_SEED=$(FIXTURE_SEED) -DSYNAPSE_BUILD_BENCHMARKS=OFF
	cmake --build $(RESEED_BUILD_DIR) -j $(JOBS) --target $(RESEED_TARGETS)
	rm -rf $(RESEED_BUILD_DIR)/test-cache
	SYNAPSE_CACHE_DIR=$(abspath $(RESEED_BUILD_DIR))/test-cache \
		ctest --test-dir $(RESEED_BUILD_DIR) --output-on-failure -j $(JOBS) -L trained

# The LibTorch 2.x lane: the whole suite against LibTorch 2.14 (libtorch-dev, python3-torch,
# python3-transformers, python3-tokenizers) in a Debian testing (forky) root that
# ci/libtorch2_root.sh makes with debootstrap, outside the clone (LIBTORCH2_ROOT), and makes
# again when it is missing or its package list changed. The build directory is the clone's
# LIBTORCH2_BUILD_DIR; the root keeps its own compiler cache and generated test data.
LIBTORCH2_ROOT ?= /var/lib/synapse/forky-root
LIBTORCH2_BUILD_DIR ?= build-libtorch2
test-libtorch2:
	bash ci/libtorch2_root.sh $(LIBTORCH2_ROOT)
	bash ci/in_libtorch2_root.sh $(LIBTORCH2_ROOT) $(MAKE) test SETUP=true BUILD_DIR=$(LIBTORCH2_BUILD_DIR) JOBS=$(JOBS)

# The same against Debian 13 (trixie)'s LibTorch 2.6, in a root of its own (LIBTORCH26_ROOT)
# with its own compiler cache. Trixie has no python3-transformers or python3-tokenizers, so
# the tests that need them are not registered there. Not run by .ci/run (its time budget).
LIBTORCH26_ROOT ?= /var/lib/synapse/trixie-root
LIBTORCH26_BUILD_DIR ?= build-libtorch26
LIBTORCH26_CCACHE ?= /var/cache/synapse/trixie-ccache
test-libtorch26:
	SYNAPSE_ROOT_SUITE=trixie bash ci/libtorch2_root.sh $(LIBTORCH26_ROOT)
	SYNAPSE_LIBTORCH2_CCACHE=$(LIBTORCH26_CCACHE) bash ci/in_libtorch2_root.sh $(LIBTORCH26_ROOT) $(MAKE) test SETUP=true BUILD_DIR=$(LIBTORCH26_BUILD_DIR) JOBS=$(JOBS)

# The models the LibTorch 2.x lane exported (torch 2.14, transformers 5: export_families'
# work folder) read by this machine's build (LibTorch 1.13): eager exports match the eager
# hooks' logits, SDPA exports are refused with the way out. Run after test-libtorch2.
test-cross-lane: build
	/usr/bin/python3 tests/scripts/cross_lane_test.py $(BUILD_DIR)/synapse $(LIBTORCH2_BUILD_DIR)/tests/export_work

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer (any report
# fails the test that triggered it). Tests labelled "install" are left out: they configure
# and build a separate, unsanitized copy of the project to test CMake packaging. The full
# run takes about an hour on two cores; CI (.ci/run) passes ASAN_CTEST_ARGS="-LE install|slow"
# to run the ~230 unit and model tests (every reader, the hooks against PyTorch, hostile
# models, probes, statistics) and leave the end-to-end runs to `make test-asan` itself.
ASAN_BUILD_DIR ?= build-asan
ASAN_CTEST_ARGS ?= -LE install
# The targets to build (empty: all). CI builds only what its unit and model tests run.
ASAN_TARGETS ?=
ASAN_OPTIONS_ALL = detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0
test-asan: setup
	cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Asan -DCMAKE_CXX_FLAGS_ASAN="-O1" \
		-DSYNAPSE_SANITIZE=ON -DSYNAPSE_BUILD_BENCHMARKS=OFF
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS) $(if $(ASAN_TARGETS),--target $(ASAN_TARGETS))
	rm -rf $(ASAN_BUILD_DIR)/test-cache
	SYNAPSE_CACHE_DIR=$(abspath $(ASAN_BUILD_DIR))/test-cache \
		ASAN_OPTIONS=$(ASAN_OPTIONS_ALL) LSAN_OPTIONS=suppressions=$(CURDIR)/ci/lsan.supp:print_suppressions=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j $(JOBS) $(ASAN_CTEST_ARGS)

# libFuzzer targets (fuzz/) on the readers and parsers, from the committed seed corpora, each
# for FUZZ_RUNS executions or FUZZ_MAX_SECONDS, whichever comes first (four of the ten stop
# at the time limit short of the runs in CI: see docs/security.md); fails on any crash,
# leak, sanitizer report or unclean error.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_RUNS ?= 1000000
FUZZ_MAX_SECONDS ?= 210
# Targets run side by side, one per core.
FUZZ_LANES ?= $(JOBS)
fuzz: build
	cmake -S fuzz -B $(FUZZ_BUILD_DIR) -DCMAKE_CXX_COMPILER=clang++ \
		-DSYNAPSE_LIBRARY=$(abspath $(BUILD_DIR))/libsynapse.so
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS)
	bash fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_RUNS) $(FUZZ_LANES) $(FUZZ_MAX_SECONDS)

# The demo analyzes the embedded default model (models/spam-tiny: a 4-layer BERT-style spam
# filter trained by `synapse train` on the SpamAssassin corpus) on its 887 held-out test
# messages: `synapse analyze` with no --model and no --data uses it. Every stage runs; the
# grid is reduced (3 k values instead of 9, 3 random draws instead of 5, 2 noise levels
# instead of 4, 4 weight-noise draws instead of 15) to stay under 3 minutes on two cores:
# the full default grid is 376 sweep passes, about 7.5 minutes (README.md).
# --threads 1: on two cores a model this small runs ~3x faster on one (bench/README.md).
# Then it runs the example robustness suite (examples/spam_filter, about 20 s) and writes
# its JUnit, JSON and HTML reports into reports/demo-tests.
# It builds only what it runs (the library, the CLI, the GoogleTest plugin and the example
# suite); `make test` builds the rest: tests, fixtures, benchmarks.
DEMO_TARGETS = synapse_cli spam_filter_robustness
DEMO_FLAGS ?= --k 10%,25%,50% --random-seeds 3 --noise 0.5,1.0 --weight-noise 0.05,0.25 --weight-noise-seeds 2 \
	--threads 1
demo: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target $(DEMO_TARGETS)
	@echo "== synapse analyze (embedded default model models/spam-tiny, 887 held-out SpamAssassin messages)"
	$(BUILD_DIR)/synapse analyze --out reports/demo $(DEMO_FLAGS)
	@echo "== robustness tests in GoogleTest (examples/spam_filter: 16 requirements and a JSON spec)"
	$(BUILD_DIR)/examples/spam_filter/spam_filter_robustness --gtest_brief=1 --synapse_report_dir=reports/demo-tests

bench: build
	$(BUILD_DIR)/bench/hook_overhead_bench --benchmark_filter=Ratio --benchmark_repetitions=5 \
		--benchmark_min_time=4 --benchmark_report_aggregates_only=true
	bash bench/tokenizer_throughput.sh $(BUILD_DIR)
	bash bench/allocator.sh $(BUILD_DIR)
	$(BUILD_DIR)/bench/analysis_bench --benchmark_counters_tabular=true
	bash bench/robustness_versions.sh $(BUILD_DIR)
	/usr/bin/python3 bench/sweep_side_by_side.py $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
