#!/usr/bin/env bash
# Static security checks (bandit over src/) and known vulnerabilities in the installed packages (pip-audit).
# Run by tools/run_tests.sh beside the SQLite tests. bandit failing fails the run; pip-audit may only be
# skipped, with a message, when no advisory data can be reached (tools/audit_dependencies.py).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0

echo "-- bandit (src/; configuration in pyproject.toml [tool.bandit])"
$BIN/bandit -q -c pyproject.toml -r src || status=1
# Piccolo's generated migrations, excluded above: every check but B105, which reads each column's
# `"secret": False` as a hard-coded password. Their raw SQL is still checked.
$BIN/bandit -q -r src/app/migrations -s B105 || status=1
[ $status -eq 0 ] && echo "bandit: no issues."

echo "-- pip-audit"
$BIN/python tools/audit_dependencies.py || status=1
exit $status
