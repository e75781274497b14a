# numpynn: `make demo` sets up and trains on the bundled MNIST sample; `make test` runs the test suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
# benchmarks run OpenBLAS's own kernels for the CPU: a build machine's forced older ones are unset here only
BENCH  := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY)

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
	@echo "  numpynn predict runs/demo/model.safetensors examples/digits/   (drawn, photographed, inverted; or your own)"
	@echo "  numpynn evaluate runs/demo/model.safetensors --data mnist-sample"
	@echo "  numpynn train --help                                       (every setting; docs/cli.md has more)"

test: $(VENV)/.test-installed system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

bench: $(VENV)/.installed system-deps
	$(PIP) -e ".[bench,bf16,tune]"
	$(BENCH) benchmarks/run.py
	$(BENCH) benchmarks/sklearn_comparison.py
	$(BENCH) benchmarks/csv_speed.py
	$(BENCH) benchmarks/bf16.py
	$(BENCH) benchmarks/model_file_speed.py
	$(BENCH) benchmarks/replay.py
	$(BENCH) benchmarks/augment_speed.py
	$(BENCH) benchmarks/inference.py
	$(BENCH) benchmarks/serve_latency.py
	$(BENCH) benchmarks/doctor_overhead.py
	$(BENCH) benchmarks/table_read.py
	$(BENCH) benchmarks/tabular.py
	$(BENCH) benchmarks/small_tables.py
	$(BENCH) benchmarks/tune.py

# mutate the fuzz corpus for FUZZ_SECONDS in all (each case limited to 2 GiB and 20 s); findings in fuzz/findings/
FUZZ_SECONDS ?= 180
fuzz: $(VENV)/.test-installed
	$(PIP) -e ".[fuzz]"
	$(PY) fuzz/harness.py replay
	$(PY) fuzz/harness.py fuzz --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info .pytest_cache .ruff_cache
