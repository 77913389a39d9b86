# reporting_dagster — `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.reporting/dagster
PORT ?= 3000
# the demo's schedules deliver an "S3" copy into this folder (no S3 server needed) and may only
# name this bucket; set either variable to use real S3 delivery instead
DEMO_DELIVERY = REPORTS_S3_DELIVERY_LOCAL_DIR=$${REPORTS_S3_DELIVERY_LOCAL_DIR-$(CURDIR)/.reporting/deliveries} \
	REPORTS_S3_DELIVERY_BUCKETS=$${REPORTS_S3_DELIVERY_BUCKETS:-demo-deliveries}

.PHONY: help install check-system demo dev test bench db-upgrade seed stop clean

help:
	@echo "make demo   - set up, start the embedded PostgreSQL, migrate, seed, build last month's reports"
	@echo "make test   - set up and run the test suite"
	@echo "make bench  - the benchmarks against their baselines (BENCH_ARGS=--heavy for the heavy month)"
	@echo "make dev    - open the Dagster UI (http://127.0.0.1:$(PORT), PORT=… to change) on the demo data"
	@echo "make stop   - stop the embedded PostgreSQL"
	@echo "make clean  - remove .venv and .reporting (demo database, files, Dagster instance)"

check-system:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	@$(PYTHON) -c 'import ctypes.util, sys; missing = [l for l in ("pango-1.0", "pangoft2-1.0", "harfbuzz", "fontconfig") if not ctypes.util.find_library(l)]; sys.exit("WeasyPrint needs system libraries that are missing: %s.\n  Debian/Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig fonts-dejavu-core fonts-droid-fallback\n  macOS: brew install pango && brew install --cask font-dejavu" % ", ".join(missing)) if missing else None'
	@# the PDF's fonts (templates/report.css): DejaVu Sans for Latin, Greek, Cyrillic, Arabic and Hebrew, and a CJK font
	@$(PYTHON) -c 'import subprocess, sys; import shutil; fonts = lambda q: shutil.which("fc-list") and subprocess.run(["fc-list", q, "family"], capture_output=True, text=True).stdout.strip(); missing = [name for name, q in (("DejaVu Sans (fonts-dejavu-core; macOS: brew install --cask font-dejavu)", "DejaVu Sans"), ("a CJK font (fonts-droid-fallback; macOS ships Hiragino Sans)", ":lang=ja")) if not fonts(q)]; sys.exit("PDFs would print boxes instead of text; missing fonts: %s.\n  Debian/Ubuntu: sudo apt-get install fontconfig fonts-dejavu-core fonts-droid-fallback" % "; ".join(missing)) if missing else None'

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory check-system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

db-upgrade: install
	$(BIN)/reporting-dagster db upgrade

seed: db-upgrade
	$(BIN)/reporting-dagster demo seed --if-empty

demo: seed
	$(DEMO_DELIVERY) $(BIN)/reporting-dagster demo run

# run from .reporting/ so the production dagster.yaml at the top is not mistaken for the demo's;
# the partition grid starts at the demo's first billing period (months before it can only fail).
# The daemon and the webserver directly (`dagster dev` is superseded and says so on every start);
# stopping the webserver (Ctrl-C) stops the daemon too.
dev: seed
	@$(BIN)/python -c 'from reporting_dagster.demo import ensure_demo_instance; ensure_demo_instance()'
	cd .reporting && export REPORTS_FIRST_BILLING_PERIOD=$${REPORTS_FIRST_BILLING_PERIOD:-$$(../$(BIN)/reporting-dagster db first-period)} \
		$(DEMO_DELIVERY) && \
		{ ../$(BIN)/dagster-daemon run -w ../workspace.yaml & daemon=$$!; \
		  trap 'kill $$daemon 2>/dev/null; wait $$daemon' EXIT INT TERM; \
		  ../$(BIN)/dagster-webserver -w ../workspace.yaml -h 127.0.0.1 -p $(PORT); }

test: install
	$(BIN)/pytest

# not part of `make test`: seeds its own bench_* databases (README "Benchmarks")
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

stop:
	@[ -x $(BIN)/reporting-dagster ] && $(BIN)/reporting-dagster db stop || true

clean: stop
	rm -rf $(VENV) .reporting
