# One entry point for every task. `make help` lists them.
# The venv lives in .venv inside the clone unless VENV is set.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# CHAPTERS=spiral_split (slugs or numbers) limits sync, generate, check and book to those chapters.
export CHAPTERS

.PHONY: help setup python-env system-programs sync generate check dev book book-no-solutions grade \
	handgrade term lms-export similarity test test-fast clean

help:  ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

setup: system-programs $(INSTALLED)  ## install everything: system programs, then the pinned Python packages

python-env: $(INSTALLED)  ## only the Python environment (what sync, generate, check, dev, grade need)

# Debian packages the course needs besides Python's: `dot` draws the autograd graphs (chapter 5),
# Chromium runs the browser tests of the book. Installed only where missing, as root or with
# password-less sudo; otherwise the message says what to install.
SYSTEM_PROGRAMS := dot:graphviz chromium:chromium
system-programs:
	@missing=""; for pair in $(SYSTEM_PROGRAMS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo"; \
	  else echo "Please install the Debian packages:$$missing (apt-get install -y$$missing)"; exit 1; fi; \
	  echo "Installing$$missing ..."; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing >/dev/null; fi

$(INSTALLED): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

sync: $(INSTALLED)  ## stamp setup cells and nbgrader metadata into the masters (book/*.ipynb)
	$(PY) -m course sync

generate: sync  ## regenerate student notebooks (students/) and solution modules (solutions/)
	$(PY) -m course generate

check: $(INSTALLED)  ## fail if a master or a generated file is stale, or an import breaks the layers
	$(PY) -m course check
	$(PY) -m tests.test_layers

book: setup  ## execute every chapter and build the HTML book in _build/full
	$(PY) -m course book --edition full

book-no-solutions: setup  ## build the edition without solutions (for a graded term)
	$(PY) -m course book --edition no-solutions

grade: $(INSTALLED)  ## grade a class: make grade CHAPTER=01 SUBMISSIONS=submissions.zip [OUT=grades] [WORKERS=N] [ARGS="--scheduler tcp://host:8786 ..."]
	$(PY) -m course grade $(CHAPTER) $(SUBMISSIONS) --out $(or $(OUT),grades) $(if $(WORKERS),--workers $(WORKERS)) $(ARGS)

handgrade: $(INSTALLED)  ## apply points and comments of OUT/hand_grades.csv: make handgrade [OUT=grades]
	$(PY) -m course handgrade $(or $(OUT),grades)

term: $(INSTALLED)  ## term gradebook over grading folders: make term FOLDERS="grades01 grades04" [OUT=term]
	$(PY) -m course term $(FOLDERS) --out $(or $(OUT),term)

lms-export: $(INSTALLED)  ## LMS import files: make lms-export FOLDERS="..." ARGS="--canvas export.csv --moodle" [OUT=lms]
	$(PY) -m course lms-export $(FOLDERS) --out $(or $(OUT),lms) $(ARGS)

similarity: $(INSTALLED)  ## similar submissions: make similarity CHAPTER=01 SUBMISSIONS=submissions.zip [OUT=grades]
	$(PY) -m course similarity $(CHAPTER) $(SUBMISSIONS) --out $(or $(OUT),grades) $(ARGS)

# `make test` runs the suite in two parts: every test that does not grade in TEST_JOBS processes
# (pytest-xdist; tests sharing a build, the book, the Colab-like venv or MNIST, stay together:
# conftest.py), then the tests marked `grading` in one process: their Dask workers keep both cores
# busy themselves. Both parts always run; the target fails if either did. The fast tests run in
# FAST_JOBS processes (0: in this one).
TEST_JOBS ?= 2
FAST_JOBS ?= 2

test: setup  ## run the whole test suite (builds, grading, notebook execution)
	@status=0; \
	echo "== the tests that do not grade, in $(TEST_JOBS) processes"; \
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadgroup -m "not grading" || status=1; \
	echo "== the grading tests, in one process"; \
	$(PY) -m pytest -m grading || status=1; \
	exit $$status

test-fast: $(INSTALLED)  ## the tests that take seconds: no grading runs, book, browser or MNIST
	$(PY) -m pytest -n $(FAST_JOBS) --dist loadgroup -m "not slow and not book and not browser and not mnist"

dev: $(INSTALLED)  ## one chapter's inner loop: make dev CHAPTER=04 (sync, generate, check, its fast tests)
	$(PY) -m course dev $(CHAPTER)

clean:  ## remove build outputs (keeps the venv)
	rm -rf _build grades
