# learndyn: the two commands are `make reproduce` and `make test`.
#   make setup          .venv from the hash lock + the Debian data package (envs/apt-reproduce.txt)
#   make setup-cluster  + the Debian packages of tests/cluster (envs/apt-cluster-test.txt)
#   make setup-test     + those and the other test-only packages (envs/apt-test.txt: Chromium)
#   make lock           regenerate envs/requirements.txt and envs/learndyn.yaml (needs network)
#   make format         apply the code conventions (ruff, snakefmt) that make test checks
#   make config-doc     regenerate config/README.md from the config schemas
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= 2
BIN    := $(VENV)/bin
SMK    := $(BIN)/snakemake
LOCK_VENV    ?= .lock-venv
PIP_TOOLS    := pip-tools==7.7.0
# Every Python and rules file that the conventions cover (tests/workflow/test_conventions.py reads
# this list from here, so the test and `make format` cannot cover different files).
PY_FILES     := src tests benchmarks envs/conda_env.py workflow/scripts
SMK_FILES    := Snakefile workflow/rules

.PHONY: setup setup-cluster setup-test lock format config-doc reproduce test smoke report clean-results

setup: $(VENV)/.installed
	@sh envs/debian-packages.sh envs/apt-reproduce.txt "reproduction" \
	  "the perturb study cannot read Fashion-MNIST (its prepare job fails naming the folder); the other studies run, e.g. '$(SMK) --cores $(CORES) splines kernel motor'."

# Only tests/cluster needs these: SLURM, munge, slurmdbd and MariaDB, installed without starting
# or enabling any of their services (the tests start the daemons themselves, as child processes).
setup-cluster: setup
	@sh envs/debian-packages.sh envs/apt-cluster-test.txt "tests/cluster (a local SLURM)" \
	  "tests/cluster is skipped with the reason; every other test runs."

setup-test: setup-cluster
	@sh envs/debian-packages.sh envs/apt-test.txt "the browser check of claims.html" \
	  "tests/claims/test_page_browser.py is skipped (it fails under CI=true)."

# Every installed package comes from the hash lock, in one pip call (torch must sit beside
# lightning or a CUDA build is pulled; --require-hashes refuses any file whose hash is not locked).
$(VENV)/.installed: envs/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r envs/requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

# Maintainers: resolve envs/requirements.in (direct pins) into the full hash lock, then derive the
# conda env from it. pip-compile reads pip's configuration, so the lock holds the hashes of the
# files pip installs here (torch's CPU wheel included).
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q $(PIP_TOOLS)
	$(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links \
	  --output-file envs/requirements.txt envs/requirements.in
	$(PYTHON) envs/conda_env.py

# Lint fixes first (import order), then the formatters (settings in pyproject.toml); the last
# line lists what no tool fixes by itself (long strings and comments, ...): fix those by hand.
format: $(VENV)/.installed
	$(BIN)/ruff check --fix --exit-zero --quiet $(PY_FILES)
	$(BIN)/ruff format --quiet $(PY_FILES)
	$(BIN)/snakefmt $(SMK_FILES)
	$(BIN)/ruff check $(PY_FILES)

config-doc: $(VENV)/.installed
	PYTHONPATH=src $(BIN)/python -m learndyn.config_doc --write  # this checkout's schemas, whichever the venv has installed

reproduce: setup
	$(SMK) --cores $(CORES) --configfile config/config.yaml
	$(SMK) --cores $(CORES) --configfile config/config.yaml --report results/report.html
	@echo "report: results/report.html   claims: results/claims.html"

test: setup setup-test
	$(BIN)/python -m pytest

smoke: setup
	$(SMK) --cores $(CORES) --configfile config/smoke.yaml

report: setup
	$(SMK) --cores $(CORES) --configfile config/config.yaml --report results/report.html

clean-results:
	rm -rf results/* logs .snakemake/metadata
