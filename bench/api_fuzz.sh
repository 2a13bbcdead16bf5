#!/usr/bin/env bash
# Property-based run of schemathesis over the API's OpenAPI spec, as a school operator, a
# county approver and a province admin (write tokens), on a registry of its own:
#
#   bench/api_fuzz.sh                 # MAX_EXAMPLES=25 per operation
#   MAX_EXAMPLES=100 bench/api_fuzz.sh
#
# It serves the registry on 127.0.0.1:$PORT from its own database (embedded PostgreSQL and
# Redis under var/fuzz/ unless DATABASE_URL / REDIS_URL are set: then a database named
# registry_fuzz on that server) with a small demo province, and installs schemathesis
# (the `fuzz` extra of pyproject.toml) into var/fuzz/venv. Checks: not_a_server_error,
# status_code_conformance, response_schema_conformance. Exit status: schemathesis's (0 when
# every check passed for every user). The last result is in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8765}
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
PY=${PY:-.venv/bin/python}
VAR=var/fuzz
mkdir -p "$VAR"

if [ ! -x "$VAR/venv/bin/schemathesis" ]; then
  python3 -m venv "$VAR/venv"
  spec=$($PY -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['optional-dependencies']['fuzz'][0])")
  "$VAR/venv/bin/pip" install --quiet "$spec"
fi

export DJANGO_SETTINGS_MODULE=config.settings.development
if [ -n "${DATABASE_URL:-}" ]; then
  base=${DATABASE_URL%/*}
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS registry_fuzz" -c "CREATE DATABASE registry_fuzz" >/dev/null
  export DATABASE_URL="$base/registry_fuzz"
else
  eval "$(REGISTRY_VAR_DIR=$VAR $PY -m devtools.embedded start)"
  export DATABASE_URL REDIS_URL
fi
export REDIS_URL=${REDIS_URL:-}

$PY manage.py migrate --noinput -v 0
$PY manage.py load_demo --pupils 3000 --schools 6 >/dev/null

$PY manage.py runserver "127.0.0.1:$PORT" --noreload >"$VAR/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 1
done

school=$($PY manage.py shell --no-imports -c "from schools.models import School; print(School.objects.order_by('code').first().code)" | tail -n 1)
county=${school:0:6}
status=0
for user in "$school.operator" "$county.approver" "44.admin"; do
  token=$($PY manage.py issue_token "$user" --access write --days 1 --name "schemathesis" 2>/dev/null)
  echo "== $user"
  "$VAR/venv/bin/schemathesis" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" --header "Authorization: Bearer $token" \
    --no-color 2>&1 | tee "$VAR/$user.log" | tail -n 25 || status=1
done
exit $status
