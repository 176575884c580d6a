# The two commands: `make demo` and `make test`. Both install what is missing (Debian
# packages, via ci/setup.sh), configure, build, and run.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup configure build test demo bench clean

all: build

setup:
	bash ci/setup.sh

$(BUILD_DIR)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/CMakeCache.txt

build: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# For now the demo inspects a test model, runs it with and without an intervention, and
# runs the full SYNAPSE analysis on the spam_tiny test fixture (a 2-layer BERT trained on
# SpamAssassin at build time); the embedded-model issue moves it to the shipped default.
# --threads 1: on two cores a model this small runs ~2x faster on one (bench/README.md).
demo: build
	@echo "== synapse inspect"
	$(BUILD_DIR)/synapse inspect $(BUILD_DIR)/fixtures/bert_traced.pt
	@bash ci/demo_rows.sh $(BUILD_DIR)/fixtures/oracle.json > $(BUILD_DIR)/demo_rows.jsonl
	@echo "== synapse predict (baseline)"
	$(BUILD_DIR)/synapse predict --model $(BUILD_DIR)/fixtures/bert_traced.pt --data $(BUILD_DIR)/demo_rows.jsonl
	@echo "== synapse predict -i -1:zero:0-15:pooled (half of the last layer's [CLS] neurons zeroed)"
	$(BUILD_DIR)/synapse predict --model $(BUILD_DIR)/fixtures/bert_traced.pt --data $(BUILD_DIR)/demo_rows.jsonl \
		-i -1:zero:0-15:pooled
	@echo "== synapse analyze (spam_tiny fixture, 300 held-out SpamAssassin messages)"
	$(BUILD_DIR)/synapse analyze --model $(BUILD_DIR)/fixtures/spam_tiny.pt \
		--labels $(BUILD_DIR)/fixtures/spam_tiny_labels.json --data $(BUILD_DIR)/fixtures/spam_eval.jsonl \
		--tokenizer $(BUILD_DIR)/tokenizer_parity/uncased.json --max-length 64 --threads 1 --out reports/demo

bench: build
	$(BUILD_DIR)/bench/hook_overhead_bench --benchmark_filter=Ratio --benchmark_repetitions=5 \
		--benchmark_min_time=4 --benchmark_report_aggregates_only=true
	bash bench/tokenizer_throughput.sh $(BUILD_DIR)
	$(BUILD_DIR)/bench/analysis_bench --benchmark_counters_tabular=true

clean:
	rm -rf $(BUILD_DIR)
