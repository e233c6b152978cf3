#!/usr/bin/env bash
# `make test`: unit and integration tests on SQLite, the same on PostgreSQL, then the browser tests.
# Under CI=true PostgreSQL is required; elsewhere its absence is reported, never hidden.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_TEST_URL=${PG_TEST_URL:-postgres://postgres@127.0.0.1:5432/corridor_test}
export TMPDIR=${TMPDIR_FOR_TESTS:-$(mktemp -d)}
status=0

# bandit and pip-audit run beside the SQLite tests (the machine has two cores); reported after them.
tools/security_checks.sh >"$TMPDIR/security-checks.log" 2>&1 &
security_pid=$!

echo "== Unit and integration tests on SQLite"
CORRIDOR_TEST_DATABASE_URL=sqlite $BIN/pytest tests --ignore=tests/e2e || status=1

echo "== Security checks: bandit, pip-audit"
wait $security_pid || status=1
cat "$TMPDIR/security-checks.log"

echo "== Unit and integration tests on PostgreSQL ($PG_TEST_URL)"
if $BIN/python tools/pg_test_db.py "$PG_TEST_URL"; then
  CORRIDOR_TEST_DATABASE_URL="$PG_TEST_URL" $BIN/pytest tests --ignore=tests/e2e || status=1
else
  count=$($BIN/pytest tests --ignore=tests/e2e --collect-only -q 2>/dev/null | grep -c '::')
  if [ "${CI:-}" = "true" ]; then
    echo "FAILED: PostgreSQL is required under CI=true but is not reachable at $PG_TEST_URL" >&2
    status=1
  else
    echo "NOT RUN on PostgreSQL: $count unit and integration tests (everything outside tests/e2e)."
    echo "  PostgreSQL is not reachable at $PG_TEST_URL. Set PG_TEST_URL to a server you can create databases on."
  fi
fi

echo "== Browser tests (Chromium)"
# A separate pytest process: sync Playwright and the async unit tests cannot share one event loop.
$BIN/pytest tests/e2e || status=1

exit $status
