# product-metrics: `make run` builds the demo warehouse, `make test` runs the suite.
# Both set everything up on a fresh machine (virtualenv in .venv) and are idempotent.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PATH := $(CURDIR)/$(BIN):$(PATH)

DEMO_CUSTOMERS ?= 1000
DEMO_DAYS ?= 730
# Fixed, so that the demo is the same everywhere and seeds/kpi_targets.csv (2024-2025) fits
# it. The demo is built as of its own last day (DEMO_START + DEMO_DAYS - 1, also the latest
# day with subscription activity), so that the freshness checks judge it against that day
# rather than warn that a 2025 data set is old. Your own data: `product-metrics build`.
DEMO_START ?= 2024-01-01
DEMO_AS_OF ?= $(shell python3 -c "import datetime as d; print(d.date.fromisoformat('$(DEMO_START)') + d.timedelta(days=$(DEMO_DAYS) - 1))")

.PHONY: help install install-spark run generate build test test-spark lint ui bench clean

help:
	@echo "make run     set up, generate the demo data set, build and publish everything"
	@echo "make test    set up and run the test suite"
	@echo "make test-spark  install the spark extra, build the demo on Spark and DuckDB, compare"
	@echo "make ui      open the Dagster UI (lineage, runs, checks) on http://127.0.0.1:3000"
	@echo "make bench   speed and memory at named scales (writes bench/RESULTS.md); MRR_PLAYBOOK=<checkout> for the race"
	@echo "make lint    ruff"
	@echo "make clean   remove data/ (generated data and databases)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

# A DuckDB 1.x client beside the venv (not in it: the venv has DuckDB 2), for the test that
# the serving database opens in the DuckDB 1.x that BI drivers bundle.
DUCKDB1 := $(VENV)/duckdb1
$(DUCKDB1)/.installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-warn-conflicts --target $(DUCKDB1) 'duckdb==1.4.4'
	@touch $(DUCKDB1)/.installed

# The optional Spark engine (README, "Running on a cluster"): ~500 MB, Java 17 needed.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP) $(DAGSTER_HOME)/dagster.yaml

generate: install
	$(BIN)/product-metrics generate --out data/landing --customers $(DEMO_CUSTOMERS) --days $(DEMO_DAYS) --start $(DEMO_START)

build: install
	$(BIN)/product-metrics build --as-of $(DEMO_AS_OF)

run: generate build
	@echo
	@echo "Marts:  data/serving.duckdb (schema marts), e.g."
	@echo "        $(BIN)/python -c \"import duckdb; print(duckdb.connect('data/serving.duckdb', read_only=True).sql('select * from marts.saas_metrics_monthly order by month desc limit 6'))\""
	@echo "Parquet: data/serving/parquet/"
	@echo "Query:  $(BIN)/product-metrics query mrr net_mrr_churn_rate --by segment --grain quarter   (--list: every metric)"
	@echo "UI:     make ui   (then open http://127.0.0.1:3000)"

# Two processes (the machines have 2 cores): tests/conftest.py keeps the end-to-end tests on
# one and the dbt fixture tests on the other. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: $(STAMP) $(DUCKDB1)/.installed
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

test-spark: install-spark
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python -m pytest -q -m spark tests/e2e/test_spark.py

lint: $(STAMP)
	$(BIN)/ruff check dagster_project tests bench

ui: install
	$(BIN)/product-metrics ui

bench: $(STAMP)
	$(BIN)/python bench/run.py $(if $(MRR_PLAYBOOK),--mrr-playbook $(MRR_PLAYBOOK))

clean:
	rm -rf data
