# The two commands a newcomer types: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.atspectrum-installed
CORES ?= 2
DEMO_RESULTS := results/demo

.PHONY: demo demo-seeds test lint venv demo-data bench clean-demo proxy

venv: $(STAMP)

# torchattacks (the optional `attacks` extra) without its dependencies: it pins an old requests, and what it needs is
# in envs/requirements.txt.
$(STAMP): envs/requirements.txt envs/requirements-attacks.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r envs/requirements.txt
	$(PY) -m pip install --quiet --no-deps -r envs/requirements-attacks.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist package (no download needed).
demo-data:
	@if [ -d /usr/share/datasets/fashion-mnist ] || dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else echo "The demo needs Fashion-MNIST: run 'sudo apt-get install dataset-fashion-mnist'," \
	          "or set data.root (or data.download: true) in config/demo.yaml"; exit 1; fi

demo: $(STAMP) demo-data
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/demo.yaml
	$(VENV)/bin/snakemake --configfile config/demo.yaml --report $(DEMO_RESULTS)/report.html
	@echo
	@echo "Report:  $(DEMO_RESULTS)/report.html"
	@echo "Demo finished. Tables:  $(DEMO_RESULTS)/tables/"; ls $(DEMO_RESULTS)/tables | sed 's/^/  /'
	@echo "Figures: $(DEMO_RESULTS)/figures/"; ls $(DEMO_RESULTS)/figures | sed 's/^/  /'

# The demo with three training seeds (every table: a row per seed in the CSV, mean ± SD in Markdown/LaTeX; figures
# with the spread over seeds), in results/demo-seeds/.
DEMO_SEEDS := --configfile config/demo.yaml config/demo-seeds.yaml
demo-seeds: $(STAMP) demo-data
	$(VENV)/bin/snakemake --cores $(CORES) $(DEMO_SEEDS)
	$(VENV)/bin/snakemake $(DEMO_SEEDS) --report results/demo-seeds/report.html
	@echo "Report: results/demo-seeds/report.html"

# The proxy result in docs/proxy/ (README "Proxy result"): a larger Fashion-MNIST run over five training seeds, its
# claims tables, the four figures the claims rest on and PROVENANCE (the commit, the config's hash, the machine).
PROXY_FIGURES := robust_error_resnet18 quantization_gain_resnet18_bpda filter_norms_resnet18_mean preact_mean_resnet18
proxy: $(STAMP) demo-data
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/proxy.yaml
	mkdir -p docs/proxy
	for t in claims claims_details; do cp results/proxy/tables/$$t.md results/proxy/tables/$$t.csv docs/proxy/; done
	for f in $(PROXY_FIGURES); do cp results/proxy/figures/$$f.png docs/proxy/; done
	{ echo "commit: $$(git rev-parse HEAD)$$(git diff --quiet HEAD -- . ':!docs/proxy' || echo ' (with uncommitted changes)')"; \
	  echo "config/proxy.yaml sha256: $$(sha256sum config/proxy.yaml | cut -d' ' -f1)"; \
	  echo "machine: $$(nproc) CPU cores, $$(uname -m), torch $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	} > docs/proxy/PROVENANCE

# Formatters and linters (pinned in envs/requirements.txt, configured in pyproject.toml): any finding fails.
# `snakemake --lint` is checked by tests/test_workflow.py (it must print no warning).
LINTED := src tests bench workflow/scripts
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/snakefmt --no-sort --check Snakefile workflow/rules examples/module/Snakefile

# lint, pytest, then the workflow on a real one-node SLURM cluster (tests/slurm/cluster_test.sh: root only, skipped
# otherwise)
test: lint
	$(PY) -m pytest -q tests
	VENV=$(abspath $(VENV)) bash tests/slurm/cluster_test.sh

bench: $(STAMP)
	$(PY) -m pip install --quiet --no-deps -r envs/requirements-bench.txt
	$(PY) bench/run.py

clean-demo:
	rm -rf $(DEMO_RESULTS)
