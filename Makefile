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

# tests that pass most but not yet all runs, each run several times (see docs/architecture.md)
test-soak: setup
	for i in 1 2 3 4 5; do CI=$${CI:-false} $(VENV)/pytest -q -m soak || exit 1; done

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
