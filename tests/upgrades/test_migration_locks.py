"""Review notes for migrations on PostgreSQL (issue 17, point 4): every statement a migration sends that locks a
table which already held a school's rows (a CREATE INDEX without CONCURRENTLY, an ALTER TABLE that scans or
rewrites, an UPDATE or DELETE over existing rows) is acknowledged in its file with `# LOCKS: <table>: <why>`.
tools/migration_review.py runs today's migrations one by one on a new database, seeded with the oldest upgrade
fixture, and records what each sends."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import migration_review  # noqa: E402

pytestmark = pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgres"),
                                reason="locks are reviewed on PostgreSQL, the production engine")


@pytest.fixture(scope="module")
def findings():
    import asyncio
    import concurrent.futures

    from piccolo.apps.migrations.tables import Migration

    import app.piccolo_conf as conf
    from app import db

    saved = conf.DB, Migration._meta.db

    # Its own thread and event loop: the review rebinds Piccolo's engine to a scratch database, which must not be
    # seen by tests on this loop (they are bound back to the test database below).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        found = pool.submit(asyncio.run, migration_review.review(
            os.environ["DATABASE_URL"], seed=migration_review.oldest_fixture_seed())).result()
    db.bind(os.environ["DATABASE_URL"])
    conf.DB, Migration._meta.db = saved
    return found


def test_every_migration_that_locks_a_table_with_rows_says_so(findings):
    missing = [f"{f.migration}: {f.table}: {f.statement}" for f in findings if not f.acknowledged()]
    assert not missing, "add '# LOCKS: <table>: <why>' to these migrations:\n" + "\n".join(missing)


def test_the_review_sees_the_locks_we_know_of(findings):
    """It would pass vacuously if it saw nothing: the incident indexes and the audit chain's rewrite are known."""
    seen = {(f.migration, f.table, f.why.split(":")[0]) for f in findings}
    assert ("corridor_2026_12_07t01_10_00_000000", "incident", "CREATE INDEX") in seen
    assert ("corridor_2026_12_02t11_30_01_000000", "audit_event", "UPDATE") in seen
    assert not any(f.table == "alert" for f in findings)  # created in the same commit as its indexes: empty then
