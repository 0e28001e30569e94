# Two commands on a fresh machine with Python >= 3.10:
#   make demo   train LeNet-5 on the bundled MNIST sample (plots + report in runs/demo)
#   make test   run the test suite, PyTorch (CPU) installed as the oracle
# and, for packagers:
#   make dist   build the wheel and the sdist into dist/ and check them with twine
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The oracle, as .ci/run installs it: PyTorch 2.13.0 (this workplace's pip
# serves its CPU build; elsewhere add --extra-index-url
# https://download.pytorch.org/whl/cpu to avoid the CUDA wheels) and
# torchvision without its dependencies (so that pip does not replace that torch).
TORCH_VERSION       ?= 2.13.0
TORCHVISION_VERSION ?= 0.28.0
TORCH_PIP_ARGS      ?=

.PHONY: demo test bench dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all]"
	touch $(STAMP)

$(VENV)/.test-installed: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet "torch==$(TORCH_VERSION)" $(TORCH_PIP_ARGS) \
	  && $(PY) -m pip install --quiet --no-deps "torchvision==$(TORCHVISION_VERSION)" \
	  || echo "note: PyTorch $(TORCH_VERSION) could not be installed here; the comparisons will be skipped"
	touch $@

demo: $(STAMP)
	$(PY) -m neuronet train --out runs/demo

# oracle_count (tests/oracle_count.py) ends the run with the number of tests
# that compared against PyTorch.
test: $(VENV)/.test-installed
	PYTHONPATH=tests $(PY) -m pytest -q -p oracle_count

bench: $(STAMP)
	$(PY) -m neuronet bench

dist: $(STAMP)
	$(PY) -m pip install --quiet build twine
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

clean:
	rm -rf $(VENV) runs build dist *.egg-info
