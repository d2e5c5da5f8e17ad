# Two entry points, both of which set up the virtual environment first:
#   make demo   install and run `bayes-ubpr reproduce`
#   make test   install and run the whole test suite (slow tests included)
# Release checks, run by .ci/run after the tests:
#   make docs            build the documentation site with `mkdocs build --strict` into site/
#   make wheel-check     build the wheel, install it in a fresh venv, run `bayes-ubpr reproduce` outside the repo
#   make citation-check  validate CITATION.cff against the Citation File Format 1.2.0 schema
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
WHEEL_VENV ?= .venv-wheel
CFF_VENV ?= .venv-cff

.PHONY: setup demo test quick lint docs wheel-check citation-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/bayes-ubpr reproduce

test: $(STAMP)
	$(BIN)/python -m pytest

quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks docs/*.py
	$(BIN)/ruff format --check src tests examples benchmarks docs/*.py
	$(BIN)/mypy src/bayes_ubpr
	$(BIN)/lint-imports --no-cache

# The [docs] extra's packages go into .venv without reinstalling bayes_ubpr itself.
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["docs"]))' > $(VENV)/docs-requirements.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/docs-requirements.txt
	touch $(DOCS_STAMP)

# NO_MKDOCS_2_WARNING silences the end-of-life banner that Material 9.7+ prints on every build.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The wheel must hold the data tables and py.typed, install on its own, and run from outside the
# source tree (so nothing can be imported from src/).
wheel-check: $(STAMP)
	rm -rf dist $(WHEEL_VENV)
	$(BIN)/python -m pip wheel . --no-deps -qq -w dist
	$(BIN)/python -c 'import sys, zipfile; names = zipfile.ZipFile(sys.argv[1]).namelist(); missing = [f for f in ("bayes_ubpr/py.typed", "bayes_ubpr/data/table2.csv", "bayes_ubpr/data/table3.csv", "bayes_ubpr/data/table4.csv", "bayes_ubpr/data/table5.csv") if f not in names]; sys.exit(f"missing from the wheel: {missing}" if missing else 0)' dist/bayes_ubpr-*.whl
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -qq dist/bayes_ubpr-*.whl
	tmp="$$(mktemp -d)" && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  $(CURDIR)/$(WHEEL_VENV)/bin/python -c 'import pathlib, bayes_ubpr; p = pathlib.Path(bayes_ubpr.__file__).parent; assert "site-packages" in p.parts and (p / "py.typed").is_file(), p; print("wheel-check: bayes_ubpr", bayes_ubpr.__version__, "from", p)' && \
	  $(CURDIR)/$(WHEEL_VENV)/bin/bayes-ubpr reproduce --report report.html && \
	  test -s report.html && echo "wheel-check: the installed wheel ran bayes-ubpr reproduce and wrote a report"

$(CFF_VENV)/.installed:
	$(PYTHON) -m venv $(CFF_VENV)
	$(CFF_VENV)/bin/python -m pip install -qq "cffconvert==2.0.0"
	touch $@

citation-check: $(CFF_VENV)/.installed
	$(CFF_VENV)/bin/cffconvert --validate -i CITATION.cff

clean:
	rm -rf $(VENV) $(WHEEL_VENV) $(CFF_VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
