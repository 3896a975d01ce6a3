# Neural Networks in Python: every command a learner, an instructor or CI needs.
# The two commands of the README: `make book` and `make test`. Both create .venv when it is missing.

# The environment is made from a Python that every user can execute (Debian's /usr/bin/python3.11 when present):
# a sandboxed grading kernel runs as an unprivileged user and must be able to start the venv's interpreter, and an
# interpreter under root's home (pyenv, mode 700) is out of its reach.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install book test test-fast lab serve bench clean

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; (3, 11) <= v <= (3, 13) or sys.exit("Python 3.11, 3.12 or 3.13 is needed, found " + sys.version.split()[0] + ": PYTHON=python3.12 make ... picks another")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "make: installing the pinned stack and the course's packages into $(VENV) (a few minutes the first time; \
pip's messages go to $(VENV)/install.log)"
	@$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt > $(VENV)/install.log 2>&1 || \
	    { tail -n 40 $(VENV)/install.log; echo "make: pip failed (the whole log: $(VENV)/install.log)"; exit 1; }
	@# jsonschema's optional IRI checker (pulled in by jupyter-events) builds a grammar on import: a second added to
	@# every process that reads a notebook (each grading worker, each nbgrader or JupyterLab start); no IRI is checked
	$(BIN)/python -m pip uninstall --quiet --disable-pip-version-check -y rfc3987-syntax lark
	$(BIN)/python -m course_kernel
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the pinned stack and nnlib

book: $(STAMP)  ## Build the site (notebooks executed, results cached) into _build/html
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The site is at $(CURDIR)/_build/html/index.html (make serve shows it on http://localhost:$(PORT))"

# pytest runs two workers on two cores: one BLAS thread each, or they fight over the cores.
test: $(STAMP)  ## Run the whole test suite (library, notebooks, book, grading)
	@OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; exit $$rc

test-fast: $(STAMP)  ## Run the fast subset: nnlib, the judge's unit tests, lint (-m 'not slow'; under a minute of CPU)
	@OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slow" tests

lab: $(STAMP)  ## Open JupyterLab on the exercises
	$(BIN)/jupyter lab exercises

serve: $(STAMP)  ## Serve the built site on localhost
	@test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m http.server --directory _build/html --bind 127.0.0.1 $(PORT)

bench: $(STAMP)  ## Time nnlib against scikit-learn and PyTorch (pip install torch==2.13.0 to include it), then against NumPy's limit; REV=git-revision also against nnlib at REV
	$(BIN)/python benchmarks/train_speed.py
	@echo
	$(BIN)/python benchmarks/numpy_limit.py
	$(if $(REV),@echo; $(BIN)/python benchmarks/compare_revisions.py $(REV))

# Besides the files here: the grading sandbox's folders of grading processes that have ended (worker-PID under its
# run root, /run/nn-grading for root, $XDG_RUNTIME_DIR/nn-grading for others; see grading/sandbox/folders.py), and the
# /tmp/nn-grading-UID of older versions. The instructor's gradebook, submissions and grades stay, and so does .venv.
clean:  ## Remove the built site, caches, test artefacts and the grading sandbox's leftovers (keeps .venv and grades)
	rm -rf _build .pytest_cache .hypothesis .ruff_cache artifacts
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	@uid=$$(id -u); if [ "$$uid" = 0 ]; then run=/run/nn-grading; else run="$${XDG_RUNTIME_DIR:-/nonexistent}/nn-grading"; fi; \
	if [ -d /proc/self ]; then for dir in "$$run"/worker-*; do \
	    if [ -d "$$dir" ] && [ ! -L "$$dir" ] && [ -O "$$dir" ] && [ ! -d "/proc/$${dir##*/worker-}" ]; then \
	        rm -rf "$$dir" && echo "removed $$dir (its grading process has ended)"; fi; done; fi; \
	old=/tmp/nn-grading-$$uid; if [ -d "$$old" ] && [ ! -L "$$old" ] && [ -O "$$old" ]; then rm -rf "$$old" && echo "removed $$old"; fi

# ---- Grading with nbgrader (guides/instructors.md). Run from this folder: nbgrader reads ./nbgrader_config.py.
# EX=name limits a step to one exercise; SRC=folder is a folder of submissions (one notebook or folder per student);
# TIMEOUT=seconds sets the per-cell time limit (default 30); FORCE=1 regrades submissions graded before.
# Autograding runs each submission in a sandbox (grading/sandbox/): JOBS=n at a time (default: the cores);
# SANDBOX=0 switches the sandbox off for trusted work.
GRADING := $(if $(TIMEOUT),NBGRADER_CELL_TIMEOUT=$(TIMEOUT) )$(BIN)/python -m grading
SANDBOX_DEPS := $(if $(filter 0,$(SANDBOX)),,sandbox-deps)
.PHONY: validate release collect autograde feedback export summary grade sandbox-deps

sandbox-deps:  ## What the grading sandbox needs: bubblewrap (installed when missing, as root), setpriv, prlimit
	@command -v bwrap >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; else echo "The grading sandbox needs \
	bubblewrap: sudo apt-get install bubblewrap (or SANDBOX=0 for trusted work)"; exit 1; fi; }

# A learner who set up with chapter 0's pip commands has the packages but no $(STAMP): validate runs with the Python
# that has them (.venv's, else the one on PATH, as in an activated environment) instead of installing it all again;
# where none has them it says so in one line before the install.
HAS_STACK := -c 'import nbgrader, nnlib' 2>/dev/null
validate: $(if $(wildcard $(STAMP)),$(STAMP))  ## Learners: check your exercise before handing it in (EX=ex01_perceptron, or NB=path)
	@py=$(BIN)/python; \
	if [ ! -f $(STAMP) ] && ! $(BIN)/python $(HAS_STACK); then \
	    py=$$(command -v python || command -v python3); \
	    if [ -n "$$py" ] && "$$py" $(HAS_STACK); then echo "make validate: with $$py (it has the course's packages)"; \
	    else echo "make validate: no Python here has the course's packages (nbgrader, nnlib): installing them into \
	$(VENV) first (a few minutes, once; make install does the same)"; py=$(BIN)/python; \
	        $(MAKE) --no-print-directory install || exit 1; fi; \
	fi; \
	$(if $(TIMEOUT),NBGRADER_CELL_TIMEOUT=$(TIMEOUT) )"$$py" -m grading validate $(EX) $(NB)

release: $(STAMP)  ## Instructors: write the student versions exercises/ from solutions/ (EX=name for one)
	$(GRADING) release $(EX)

collect: $(STAMP)  ## Instructors: copy a folder of submissions into nbgrader's submitted/ (SRC=folder)
	@test -n "$(SRC)" || { echo "usage: make collect SRC=folder-of-submissions [EX=exercise]"; exit 2; }
	$(GRADING) collect "$(SRC)" $(if $(EX),--exercise $(EX))

autograde: $(STAMP) $(SANDBOX_DEPS)  ## Instructors: run and score every collected submission (FORCE=1 regrades, STUDENT=id)
	$(GRADING) autograde $(EX) $(if $(FORCE),--force) $(if $(STUDENT),--student $(STUDENT))

feedback: $(STAMP)  ## Instructors: one HTML feedback page per submission in feedback/ (hidden tests removed)
	$(GRADING) feedback $(EX)

export: $(STAMP)  ## Instructors: write the grades to grades/grades.csv
	$(GRADING) export

summary: $(STAMP)  ## Instructors: mean scores, failures, histogram, submissions that need attention
	$(GRADING) summary

grade: $(STAMP) $(SANDBOX_DEPS)  ## Instructors: all of the above for a class (SRC=folder [EX=exercise])
	@test -n "$(SRC)" || { echo "usage: make grade SRC=folder-of-submissions [EX=exercise]"; exit 2; }
	$(GRADING) grade "$(SRC)" $(if $(EX),--exercise $(EX)) $(if $(FORCE),--force)

# ---- A class on JupyterHub (guides/jupyterhub.md). configurable-http-proxy is a Node program from npm.
CHP_VERSION := 5.3.0
.PHONY: hub-deps hub

# The class's autograde runs in the grading sandbox, so the hub machine needs bubblewrap too.
hub-deps:  ## What a hub class needs besides .venv: configurable-http-proxy from npm (pinned), bubblewrap
	@if configurable-http-proxy --version 2>/dev/null | grep -qx '$(CHP_VERSION)'; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "make hub-deps installs configurable-http-proxy $(CHP_VERSION) for every user \
	(npm install --global) and bubblewrap: run it as root (sudo make hub-deps)"; exit 1; else \
	    command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }; \
	    npm install --global --no-fund --no-audit --loglevel=error configurable-http-proxy@$(CHP_VERSION); fi
	@command -v bwrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }

hub: $(STAMP) hub-deps  ## Run the class's JupyterHub (as root; settings in deploy/jupyterhub/jupyterhub_config.py)
	$(BIN)/python -m jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
