# Two commands: `make run` serves the registry with demo data; `make test` runs the suite.
# Both create .venv and install from pyproject.toml on first use. With DATABASE_URL and
# REDIS_URL unset, an embedded PostgreSQL and Redis start under var/.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
DEMO_PUPILS ?= 20000

.PHONY: run test install reset stop lint messages clean backup restore lock

run: $(STAMP)
	$(BIN)/python -m devtools.devserver --port $(PORT) --demo-pupils $(DEMO_PUPILS)

test: $(STAMP)
	$(BIN)/python -m pytest --create-db $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# One archive (pg_dump custom format + every upload) under var/backups/ (docs/operations.md).
backup: $(STAMP)
	$(BIN)/python manage.py backup --stop-embedded

# Into a fresh var/ (make reset first) or an empty DATABASE_URL: make restore FILE=var/backups/….tar
restore: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/registry-….tar"; exit 2; }
	$(BIN)/python manage.py restore --stop-embedded "$(FILE)"

# Stop the embedded servers (make run stops them itself on Ctrl-C).
stop: $(STAMP)
	$(BIN)/python -m devtools.embedded stop

# Start over: stop the embedded servers and delete var/ (database, broker, uploads).
reset: stop
	find var -mindepth 1 -maxdepth 1 ! -name backups -exec rm -rf {} + 2>/dev/null || true

# ruff, and import-linter: apps import only downward (the layers in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l en --ignore=.venv --ignore=var --ignore=bench
	$(BIN)/python manage.py compilemessages -l en --ignore=.venv

# requirements.lock: the image's pinned, hash-checked runtime dependencies (no dev extra).
lock: pyproject.toml
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --extra s3 --generate-hashes --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) var
