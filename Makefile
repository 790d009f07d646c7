# learndyn: the two commands are `make reproduce` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= 2
BIN    := $(VENV)/bin
SMK    := $(BIN)/snakemake

.PHONY: setup reproduce test smoke report clean-results

setup: $(VENV)/.installed

# One pip call with exact pins (torch must sit beside lightning, or a CUDA build is pulled).
$(VENV)/.installed: envs/requirements.txt pyproject.toml envs/apt-packages.txt
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && grep -qv '^\s*\(#\|$$\)' envs/apt-packages.txt; then \
	  echo "installing Debian packages: $$(grep -v '^\s*\(#\|$$\)' envs/apt-packages.txt | tr '\n' ' ')"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $$(grep -v '^\s*\(#\|$$\)' envs/apt-packages.txt); \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r envs/requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

reproduce: setup
	$(SMK) --cores $(CORES) --configfile config/config.yaml
	$(SMK) --cores $(CORES) --configfile config/config.yaml --report results/report.html
	@echo "report: results/report.html   claims: results/claims.html"

test: setup
	$(BIN)/python -m pytest

smoke: setup
	$(SMK) --cores $(CORES) --configfile config/smoke.yaml

report: setup
	$(SMK) --cores $(CORES) --configfile config/config.yaml --report results/report.html

clean-results:
	rm -rf results/* logs .snakemake/metadata
