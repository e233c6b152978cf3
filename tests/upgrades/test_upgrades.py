"""Upgrades from every earlier schema (issue 17, point 4): for each commit of main that added migrations, a database
made by that commit's own `corridor migrate` and `corridor seed-demo` (tests/upgrades/fixtures/, built by
tools/make_upgrade_fixtures.py) is rebuilt at its migration with today's migrations, migrated to the head, and
checked: every row of every table that still exists is there with the same values in the columns that still
exist, and the audit log's chain verifies. On SQLite and PostgreSQL, as the suite runs."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json.gz"))
MIGRATIONS = Path(__file__).resolve().parents[2] / "src" / "app" / "migrations"


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    """One process checks every fixture (a process start per fixture would cost more than the checks)."""
    url = os.environ["DATABASE_URL"]
    base = "sqlite" if url.startswith("sqlite:///") else url
    done = subprocess.run([sys.executable, "-m", "tests.upgrades.kit", base, *map(str, FIXTURES)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return {r["fixture"]: r for r in map(json.loads, done.stdout.splitlines())}


def test_the_fixtures_go_back_to_the_first_migration():
    first = min(p.stem for p in MIGRATIONS.glob("corridor_*.py"))  # corridor_2026_11_24t11_34_24_253361
    oldest = min(json.loads(gzip.open(p).read())["head"] for p in FIXTURES)  # 2026-11-24T11:34:24:253361
    assert first.removeprefix("corridor_").replace("_", "") == oldest.replace("-", "").replace(":", "").replace("T", "t")


@pytest.mark.parametrize("fixture", [p.name for p in FIXTURES])
def test_a_database_from_an_earlier_schema_migrates_to_the_head_with_its_data(results, fixture):
    result = results[fixture]
    assert not result["problems"], "\n".join(result["problems"])
    assert result["tables"] > 0
