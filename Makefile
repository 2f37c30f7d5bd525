# rekap: `make run` (set up + demo) and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Prefect stays local and quiet (no telemetry, project-local home).
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: run test chromium bench server lock clean

$(STAMP): pyproject.toml requirements.lock
	@echo "Creating $(VENV) from the pinned requirements.lock (about a minute, once)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -qq --disable-pip-version-check --no-deps -e .
	touch $@

run: $(STAMP)  ## build the demo mirror, run the nightly flow on it, print the results
	$(BIN)/rekap demo

# Debian's chromium (the report in a browser) and postgresql (the shared-catalog test) first.
test: $(STAMP)  ## the whole test suite (reads real data from ../shared/data), one worker per core
	bash .ci/system-packages
	$(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder

TPS ?= 100000
NIGHTS ?= 10
bench: $(STAMP)  ## what a night costs, as ratios to the parse floor (by hand; national: make bench TPS=823236)
	$(BIN)/python -m bench --tps $(TPS) --nights $(NIGHTS)

server: $(STAMP)  ## a local Prefect server on 127.0.0.1:4200 (needed by `rekap serve` schedules)
	$(BIN)/rekap server --port 4200

lock:  ## re-resolve the pinned direct dependencies into requirements.lock
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -e . && .venv-lock/bin/pip freeze --exclude-editable | \
		sed '1i # Full pinned environment (pip freeze of the direct pins in pyproject.toml). Regenerate: make lock' > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .prefect warehouse/*.duckdb warehouse/*.sqlite warehouse/*.sqlite.data demo
