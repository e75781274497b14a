# numpynn: `make demo` sets up and trains on the bundled MNIST sample; `make test` runs the test suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint bench clean system-deps fuzz

$(VENV)/.installed: pyproject.toml setup.py src/numpynn/ops/_fused.c
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e ".[all]"
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(PIP) -e ".[test]"
	touch $@

system-deps:
	@tools/install-system-deps.sh

demo: $(VENV)/.installed
	$(VENV)/bin/numpynn train --dataset mnist-sample --out runs/demo --force
	@echo "next: open runs/demo/report.html; then, after 'source $(VENV)/bin/activate':"
	@echo "  numpynn predict runs/demo/model.safetensors my-digit.png   (a photo or drawing of a digit)"
	@echo "  numpynn evaluate runs/demo/model.safetensors --data mnist-sample"
	@echo "  numpynn train --help                                       (every setting; docs/cli.md has more)"

test: $(VENV)/.test-installed system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

bench: $(VENV)/.installed system-deps
	$(PIP) -e ".[bench,bf16,tune]"
	$(PY) benchmarks/run.py
	$(PY) benchmarks/sklearn_comparison.py
	$(PY) benchmarks/csv_speed.py
	$(PY) benchmarks/bf16.py
	$(PY) benchmarks/model_file_speed.py
	$(PY) benchmarks/replay.py
	$(PY) benchmarks/augment_speed.py
	$(PY) benchmarks/inference.py
	$(PY) benchmarks/serve_latency.py
	$(PY) benchmarks/doctor_overhead.py
	$(PY) benchmarks/tune.py

# mutate the fuzz corpus for FUZZ_SECONDS in all (each case limited to 2 GiB and 20 s); findings in fuzz/findings/
FUZZ_SECONDS ?= 180
fuzz: $(VENV)/.test-installed
	$(PIP) -e ".[fuzz]"
	$(PY) fuzz/harness.py replay
	$(PY) fuzz/harness.py fuzz --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info .pytest_cache .ruff_cache
