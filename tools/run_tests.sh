#!/usr/bin/env bash
# `make test`: unit and integration tests on SQLite and on PostgreSQL (side by side: the machine has two
# cores), bandit and pip-audit beside them, then the browser tests.
# Under CI=true PostgreSQL is required; elsewhere its absence is reported, never hidden.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_TEST_URL=${PG_TEST_URL:-postgres://postgres@127.0.0.1:5432/corridor_test}
export TMPDIR=${TMPDIR_FOR_TESTS:-$(mktemp -d)}
status=0
started=$SECONDS

tools/security_checks.sh >"$TMPDIR/security-checks.log" 2>&1 &
security_pid=$!

CORRIDOR_TEST_DATABASE_URL=sqlite $BIN/pytest tests --ignore=tests/e2e --durations=12 >"$TMPDIR/sqlite.log" 2>&1 &
sqlite_pid=$!

pg_pid=""
if $BIN/python tools/pg_test_db.py "$PG_TEST_URL"; then
  CORRIDOR_TEST_DATABASE_URL="$PG_TEST_URL" $BIN/pytest tests --ignore=tests/e2e --durations=12 >"$TMPDIR/postgres.log" 2>&1 &
  pg_pid=$!
fi

echo "== Unit and integration tests on SQLite"
wait $sqlite_pid || status=1
cat "$TMPDIR/sqlite.log"

echo "== Unit and integration tests on PostgreSQL ($PG_TEST_URL)"
if [ -n "$pg_pid" ]; then
  wait $pg_pid || status=1
  cat "$TMPDIR/postgres.log"
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

echo "== Security checks: bandit, pip-audit"
wait $security_pid || status=1
cat "$TMPDIR/security-checks.log"

echo "== Browser tests (Chromium)"
# A separate pytest process: sync Playwright and the async unit tests cannot share one event loop.
$BIN/pytest tests/e2e --durations=12 || status=1

echo "== make test took $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
