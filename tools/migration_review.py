"""Review notes for migrations on PostgreSQL (issue 17, point 4): which statements of which migration lock a table
that already existed before it, so holds rows in a school's database, and how hard.

It runs today's migrations one at a time on a new PostgreSQL database, records every statement each one sends,
and flags those that take a lock blocking writes (or reads) on an existing table for as long as they run:
CREATE INDEX without CONCURRENTLY (writes wait while the index is built), ALTER TABLE (most forms take ACCESS
EXCLUSIVE; some rewrite or scan the table), UPDATE / DELETE over a whole table. A flagged statement must be
acknowledged in its migration file with a comment line `# LOCKS: <table>: <why it is acceptable, or what the
operator should do>` - tests/upgrades/test_migration_locks.py fails on any that is not.

    .venv/bin/python tools/migration_review.py postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "src" / "app" / "migrations"

_TARGET = [
    (re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY)(?:IF NOT EXISTS\s+)?\S+\s+ON\s+(?:ONLY\s+)?\"?(\w+)\"?", re.I),
     "CREATE INDEX: writes to the table wait until the index is built"),
    (re.compile(r"^\s*ALTER\s+TABLE\s+(?:IF EXISTS\s+)?(?:ONLY\s+)?\"?(\w+)\"?", re.I),
     "ALTER TABLE: an exclusive lock; some forms rewrite or scan the whole table"),
    (re.compile(r"^\s*UPDATE\s+\"?(\w+)\"?", re.I), "UPDATE: locks every row it changes"),
    (re.compile(r"^\s*DELETE\s+FROM\s+\"?(\w+)\"?", re.I), "DELETE: locks every row it removes"),
]


# Brief: a lock held only for a catalogue change, never for a scan or a rewrite (PostgreSQL 11+ adds a column with
# a constant default without touching the rows). These still queue behind a long transaction, but do not need a note.
_BRIEF = re.compile(r"^\s*ALTER\s+TABLE\s+\S+\s+(ADD\s+COLUMN\s+\S+\s+[\w() ]+?(\s+NOT\s+NULL)?"
                    r"(\s+DEFAULT\s+('[^']*'|-?[\d.]+|null|true|false))?\s*$|(DISABLE|ENABLE)\s+TRIGGER\s+\w+\s*$)",
                    re.I)


@dataclass(frozen=True)
class Finding:
    migration: str  # the file's stem
    table: str
    why: str
    statement: str

    def acknowledged(self) -> bool:
        text = (MIGRATIONS / f"{self.migration}.py").read_text()
        return re.search(rf"#\s*LOCKS:\s*{re.escape(self.table)}\b", text) is not None


def _added_by() -> dict[str, str]:
    """Migration file stem -> the commit that added it ("" while uncommitted). A table created by a migration of the
    same commit was empty in every database that ever ran it, so locking it there costs nothing."""
    import subprocess

    out = subprocess.run(["git", "log", "--diff-filter=A", "--name-only", "--format=commit %H", "--",
                          "src/app/migrations/"], cwd=ROOT, capture_output=True, text=True).stdout
    added, commit = {}, ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line.split()[1]
        elif line.strip().endswith(".py"):
            added.setdefault(Path(line.strip()).stem, commit)
    return added


def _files() -> list[tuple[str, str]]:
    """(migration id, file stem) in the order Piccolo runs them."""
    out = []
    for path in sorted(MIGRATIONS.glob("corridor_*.py")):
        match = re.search(r'^ID\s*=\s*"([^"]+)"', path.read_text(), re.M)
        if match:
            out.append((match.group(1), path.stem))
    return sorted(out)


async def review(admin_url: str, seed=None) -> list[Finding]:
    """SEED (an async callable given the database URL) fills the database after the first migration, so that
    migrations which rewrite rows (a loop over existing rows) send their statements too."""
    import asyncpg
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    import app.piccolo_conf as conf
    from app import db

    name = f"corridor_review_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(admin_url)._replace(path="/" + name).geturl()
    sent: list[str] = []
    originals = {m: getattr(asyncpg.connection.Connection, m) for m in ("execute", "executemany", "fetch", "fetchrow", "fetchval")}

    def recording(method):
        async def wrapper(self, query, *args, **kwargs):
            sent.append(query)
            return await originals[method](self, query, *args, **kwargs)
        return wrapper

    for method in originals:
        setattr(asyncpg.connection.Connection, method, recording(method))
    findings: list[Finding] = []
    added = _added_by()
    created_in: dict[str, str] = {}  # table -> the migration that created it
    try:
        engine = db.bind(url)
        conf.DB = engine
        Migration._meta.db = engine
        probe = await asyncpg.connect(url)
        try:
            for migration_id, stem in _files():
                before = {r["tablename"] for r in await probe.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
                existing = {t for t in before if added.get(created_in.get(t, ""), "?") != added.get(stem, "")}
                sent.clear()
                with contextlib.redirect_stdout(io.StringIO()):
                    result = await run_forwards(app_name="corridor", migration_id=migration_id)
                if not result.success:
                    raise RuntimeError(f"{stem} failed: {result.message}")
                if seed is not None and not created_in:
                    await seed(url)
                for table in await probe.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
                    created_in.setdefault(table["tablename"], stem)
                for statement in sent:
                    if _BRIEF.match(statement):
                        continue
                    for pattern, why in _TARGET:
                        match = pattern.match(statement)
                        if match and match.group(1) in existing and match.group(1) != "migration":
                            findings.append(Finding(stem, match.group(1), why, " ".join(statement.split())[:160]))
        finally:
            await probe.close()
            await db.close(engine)
    finally:
        for method, original in originals.items():
            setattr(asyncpg.connection.Connection, method, original)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return findings


def oldest_fixture_seed():
    """The upgrade tests' oldest fixture (rows made by the first commit's own seed-demo), as a SEED for review()."""
    import gzip
    import json

    from tests.upgrades.kit import _load_postgres

    oldest = min((ROOT / "tests" / "upgrades" / "fixtures").glob("*.json.gz"))
    tables = json.loads(gzip.open(oldest).read())["tables"]

    async def seed(url: str) -> None:
        await _load_postgres(url, tables)
    return seed


def main() -> None:
    findings = asyncio.run(review(sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/postgres",
                                  seed=oldest_fixture_seed()))
    for f in findings:
        print(f"{'ok ' if f.acknowledged() else 'NEW'} {f.migration}  {f.table}: {f.why}\n      {f.statement}")
    missing = [f for f in findings if not f.acknowledged()]
    print(f"{len(findings)} statements lock an existing table; {len(missing)} not acknowledged with '# LOCKS: table:'")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    main()
