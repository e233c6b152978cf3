#!/usr/bin/env bash
# `make test`: unit and integration tests on SQLite and on PostgreSQL side by side, bandit and pip-audit
# beside them, and the browser tests in E2E_SHARDS shards (default 3, split by file and balanced by duration:
# tools/e2e_shards.py). At most SLOTS suites run at once (default 3: the unit suites wait on their databases
# and the browser tests on Chromium as much as on the two cores); the first shard starts at once beside the
# unit suites, and each further shard as soon as any suite finishes. Every suite's output is printed and any
# failure fails the run. Under CI=true PostgreSQL is required; elsewhere its absence is reported.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_TEST_URL=${PG_TEST_URL:-postgres://postgres@127.0.0.1:5432/corridor_test}
export TMPDIR=${TMPDIR_FOR_TESTS:-$(mktemp -d)}
status=0
started=$SECONDS

E2E_SHARDS=${E2E_SHARDS:-3}
SLOTS=${SLOTS:-3}
e2e_pids=()
heavy_pids=()

# One browser-test shard, in its own pytest process (sync Playwright and the async unit tests cannot share
# an event loop), with its own temporary folder and PostgreSQL database names (tests/e2e/conftest.py).
start_e2e_shard() {
  local shard=$1 files
  files=$($BIN/python tools/e2e_shards.py "$shard" "$E2E_SHARDS") || { status=1; return; }
  mkdir -p "$TMPDIR/e2e-$shard"
  echo "(shard $shard of $E2E_SHARDS started at $((SECONDS - started)) s)" >"$TMPDIR/e2e-$shard.log"
  # shellcheck disable=SC2086  # one argument a file
  CORRIDOR_E2E_SHARD=$shard TMPDIR="$TMPDIR/e2e-$shard" \
    bash -c 'started=$SECONDS; "$@"; rc=$?; echo "(shard took $((SECONDS - started)) s)"; exit $rc' _ \
    $BIN/pytest $files --durations=12 >>"$TMPDIR/e2e-$shard.log" 2>&1 &
  e2e_pids[$shard]=$!
  heavy_pids+=($!)
}

# How many suites are still running (a finished one's pid is gone once the shell has reaped it).
running() {
  local n=0 pid
  for pid in "${heavy_pids[@]}"; do kill -0 "$pid" 2>/dev/null && n=$((n + 1)); done
  echo $n
}

tools/security_checks.sh >"$TMPDIR/security-checks.log" 2>&1 &
security_pid=$!
next_shard=1
start_e2e_shard $((next_shard++))

CORRIDOR_TEST_DATABASE_URL=sqlite $BIN/pytest tests --ignore=tests/e2e --durations=12 >"$TMPDIR/sqlite.log" 2>&1 &
sqlite_pid=$!
heavy_pids+=($sqlite_pid)

pg_pid=""
if $BIN/python tools/pg_test_db.py "$PG_TEST_URL"; then
  CORRIDOR_TEST_DATABASE_URL="$PG_TEST_URL" $BIN/pytest tests --ignore=tests/e2e --durations=12 >"$TMPDIR/postgres.log" 2>&1 &
  pg_pid=$!
  heavy_pids+=($pg_pid)
fi

# The remaining shards, each as a slot frees.
while [ $next_shard -le "$E2E_SHARDS" ]; do
  if [ "$(running)" -lt "$SLOTS" ]; then
    start_e2e_shard $((next_shard++))
  else
    sleep 2
  fi
done

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

for shard in $(seq 1 "$E2E_SHARDS"); do
  echo "== Browser tests (Chromium), shard $shard of $E2E_SHARDS"
  if [ -n "${e2e_pids[$shard]:-}" ]; then
    wait "${e2e_pids[$shard]}" || status=1
    cat "$TMPDIR/e2e-$shard.log"
  else
    echo "FAILED: shard $shard did not start" && status=1
  fi
done

echo "== make test took $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
