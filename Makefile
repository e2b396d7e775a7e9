# Two commands on a fresh machine (Python 3.11+, Node 20+):
#   make run    set up, synthesize, run the whole pipeline locally and check it
#   make test   set up, lint, and run every test tier
VENV   := .venv
PY     := $(VENV)/bin/python
# Everything that decides what gets installed: the lock, the package, and the commands below.
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml Makefile | sha1sum | cut -c1-12)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup lock synth run test lint bench deploy clean

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP):
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-* && touch $@

# The Python locks, with a sha256 for every file: the dev set from pyproject.toml, the Lambda
# asset's from requirements-lambda.in (resolved for Lambda's Python and platform), and the one
# `s3flow init` writes into a team's project (s3flow[cdk,local] and its test tools, held to the
# dev lock's versions). The last two are package data. uv keeps every version already in a
# lock; to move one: make lock UPGRADE="--upgrade-package NAME".
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --generate-hashes --custom-compile-command "make lock"

lock: setup
	$(UV_COMPILE) $(UPGRADE) --python-version 3.11 --extra dev pyproject.toml -o requirements.txt
	$(UV_COMPILE) $(UPGRADE) --python-version 3.13 --python-platform aarch64-manylinux2014 \
		--only-binary :all: requirements-lambda.in -o src/s3flow/infra/requirements-lambda.txt
	$(UV_COMPILE) $(UPGRADE) --python-version 3.11 --extra cdk --extra local pyproject.toml \
		src/s3flow/scaffold/requirements-project.in -c requirements.txt \
		-o src/s3flow/scaffold/requirements-project.txt

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

synth: setup
	$(PY) app.py

run: synth
	$(VENV)/bin/s3flow demo

lint: setup
	$(VENV)/bin/ruff check src tests bench app.py
	$(VENV)/bin/mypy src bench
	$(VENV)/bin/lint-imports

# Two workers, each test file on one of them (its module fixtures stay whole): about half
# the wall time of one process on a 2-core machine.
test: lint
	$(VENV)/bin/pytest -n 2 --dist loadfile

bench: synth
	$(PY) -m bench

deploy: synth
	npx cdk deploy $(if $(SUFFIX),-c environmentSuffix=$(SUFFIX),)

clean:
	rm -rf $(VENV) node_modules cdk.out .build
