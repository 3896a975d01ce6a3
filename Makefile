# Neural Networks in Python: every command a learner, an instructor or CI needs.
# The two commands of the README: `make book` and `make test`. Both create .venv when it is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install book test lab serve bench clean

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the pinned stack and nnlib

book: $(STAMP)  ## Build the site (notebooks executed, results cached) into _build/html
	$(BIN)/jupyter-book build .
	@echo "The site is at $(CURDIR)/_build/html/index.html (make serve shows it on http://localhost:$(PORT))"

test: $(STAMP)  ## Run the whole test suite (library, notebooks, book, grading)
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; exit $$rc

lab: $(STAMP)  ## Open JupyterLab on the exercises
	$(BIN)/jupyter lab exercises

serve: $(STAMP)  ## Serve the built site on localhost
	@test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m http.server --directory _build/html --bind 127.0.0.1 $(PORT)

bench: $(STAMP)  ## Time nnlib against scikit-learn (and PyTorch when installed)
	@if [ -f benchmarks/train_speed.py ]; then $(BIN)/python benchmarks/train_speed.py; \
	else echo "make bench: not yet (benchmarks/train_speed.py arrives with the speed issue)"; exit 1; fi

clean:  ## Remove the built site and caches (keeps .venv)
	rm -rf _build .pytest_cache
