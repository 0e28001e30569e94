# Two commands on a fresh machine with Python >= 3.10:
#   make demo   train LeNet-5 on the bundled MNIST sample (plots + report in runs/demo)
#   make test   run the test suite (PyTorch is the oracle when installed)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all]"
	touch $(STAMP)

$(VENV)/.test-installed: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(STAMP)
	$(PY) -m neuronet train --out runs/demo

test: $(VENV)/.test-installed
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m neuronet.bench

clean:
	rm -rf $(VENV) runs build *.egg-info
