# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint schema install clean bench bench-quick drill-load drill-outage drill-slowloris drill-scale

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py prerender
	$(PY) manage.py demo_setup
	$(PY) -m analytics_api.server.serve

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || { echo "Missing migrations: run manage.py makemigrations"; exit 1; }
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Benchmarks on a private PostgreSQL server sized like production (or BENCH_ADMIN_URL's); results in tools/bench/results/, BENCHMARKS.md.
# BENCH_ARGS="--figures content,search" runs a subset (core, content, search, feed, overhead, exports, replica).
bench: $(STAMP)
	$(PY) -m tools.bench.run $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(PY) -m tools.bench.run --quick $(BENCH_ARGS)

# Reliability drills (RELIABILITY.md); results in tools/drills/results/. DRILL_DURATION, DRILL_CONCURRENCY shorten them.
drill-load: $(STAMP)
	$(PY) -m tools.drills.load

drill-outage: $(STAMP)
	$(PY) -m tools.drills.outage

# Slow clients against nginx + gunicorn (installs Debian's nginx with apt-get when missing); DRILL_PHASE_S.
drill-slowloris: $(STAMP)
	$(PY) -m tools.drills.slowloris

# nginx → 3 gunicorns, 2 qclusters, a private primary + streaming replica, Redis, moto's S3; kill -9 mid-work.
drill-scale: $(STAMP)
	$(PY) -m tools.drills.scale

schema: $(STAMP)
	$(PY) manage.py spectacular --file openapi/schema.yaml --validate

clean:
	rm -rf $(VENV) var
