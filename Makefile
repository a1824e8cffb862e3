# Targets CI and developers share. `make test` and `make demo` work on a fresh machine.
VENV := .venv/bin

.PHONY: setup lint test test-unit demo demo-down bench

setup:
	bash scripts/setup.sh

lint: setup
	$(VENV)/ruff check .
	$(VENV)/mypy

test: setup
	CI=$${CI:-false} $(VENV)/pytest -q -m "not soak"

# the rebalance test (a second worker joins mid-stream, then leaves) 20 times in a row, and
# anything marked soak; one failing run fails the target (see docs/architecture.md)
SOAK_RUNS ?= 20
test-soak: setup
	for i in $$(seq $(SOAK_RUNS)); do echo "soak run $$i/$(SOAK_RUNS)"; \
	  CI=$${CI:-false} $(VENV)/pytest -q tests/integration/stream_app/test_scale_out.py || exit 1; \
	done
	CI=$${CI:-false} $(VENV)/pytest -q -m soak || [ $$? -eq 5 ]  # 5: none marked soak

test-unit: setup
	$(VENV)/pytest -q -m unit

demo: setup
	$(VENV)/driftmon stack demo

demo-down:
	$(VENV)/driftmon stack down

bench: setup
	$(VENV)/python bench/bench_detection.py
	$(VENV)/python bench/bench_vectors.py
	$(VENV)/python bench/bench_drift.py
	$(VENV)/python bench/bench_decode.py
	$(VENV)/python bench/bench_processor.py
	$(VENV)/python bench/bench_api.py
	$(VENV)/python bench/bench_worker.py
	$(VENV)/python bench/bench_storage.py
	$(VENV)/python bench/bench_labels.py
