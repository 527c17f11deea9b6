# The two commands a new machine needs: `make serve` and `make test`. Everything else is built on
# demand: the virtualenv, the installed package, the generated gRPC code (committed; `make proto`).
# `make serve` installs the package with its `server` extra only (the base dependencies are the
# client library's); the targets that test, lint, train or benchmark add the train, parquet and
# dev extras (scikit-learn, matplotlib, pyarrow, pytest, ...).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed-runtime
ALL     := $(VENV)/.installed-all
DATA   ?= ../shared/data/routing
ARGS   ?=

.PHONY: help venv serve test bench train crossval proto lint clean

help:
	@echo "make serve   run the service on SQLite (var/router.db), 127.0.0.1:50051; installs only"
	@echo "             the server extra (the other targets add the train and dev extras)"
	@echo "make test    run the test suite (PostgreSQL tests when CI=true or reachable)"
	@echo "make bench   load-test a real server and print the JSON summary line"
	@echo "make train   retrain models/complexity.npz on $(DATA)"
	@echo "make crossval train without each source, evaluate on it -> models/crossval.json"
	@echo "make proto   regenerate router/v1 from protos/"
	@echo "make lint    ruff and mypy over the code, buf over the protos (CI runs it)"

$(RUNTIME): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server]'
	touch $(RUNTIME)

$(ALL): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[server,train,parquet,dev]'
	touch $(ALL)

venv: $(ALL)

serve: $(RUNTIME)
	$(PY) -m router.cli serve $(ARGS)

test: $(ALL)
	$(PY) -m pytest -n 2 $(ARGS)

bench: $(ALL)
	$(PY) -m router.bench $(ARGS)

crossval: $(ALL)
	$(PY) -m router.evaluation.crossval --data $(DATA) --out models/crossval.json

train: $(ALL)
	$(PY) -m router.cli train --data $(DATA) $(ARGS)

proto: $(ALL)
	$(PY) -m router.v1._codegen

lint: $(ALL)
	$(VENV)/bin/ruff check router tests
	$(VENV)/bin/mypy
	protos/lint.sh

clean:
	rm -rf $(VENV) var .pytest_cache
