"""The upgrade check, run in its own process (Piccolo's engine is process-global, and the test process is bound to
the test database): for each fixture, a new database built with today's migrations up to the fixture's migration,
the fixture's rows loaded, then `corridor migrate` to the head and the data compared. Prints one JSON line per
fixture: {"fixture", "problems": [...], "tables", "rows"}.

    python -m tests.upgrades.kit postgres://...|sqlite FIXTURE.json.gz ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import decimal
import gzip
import io
import json
import secrets
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

# Columns a later migration rewrites on purpose: compared by count only. (table, column): why.
REWRITTEN = {
    ("audit_event", "prev_hash"): "the audit chain migration re-chains every entry",
    ("audit_event", "entry_hash"): "the audit chain migration re-chains every entry",
}


async def _migrate(url: str, upto: str) -> None:
    """Today's migrations up to and including UPTO ("all": the head), as `corridor migrate` runs them."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    import app.piccolo_conf as conf
    from app import db

    engine = db.bind(url)
    await db.tune_sqlite(engine)
    conf.DB = engine
    Migration._meta.db = engine
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            result = await run_forwards(app_name="corridor", migration_id=upto)
    finally:
        await db.close(engine)
    if not result.success:
        raise RuntimeError(f"migration to {upto} failed: {result.message}\n{said.getvalue()[-3000:]}")


async def _verify_audit(url: str):
    from app import db
    from app.domain.audit.service import verify_chain

    engine = db.bind(url)
    if url.startswith("postgres"):
        await engine.start_connection_pool(min_size=1, max_size=2)
    try:
        return await verify_chain()
    finally:
        if url.startswith("postgres"):
            await engine.close_connection_pool()
        await db.close(engine)


def _names(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _decode(v):
    return base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v


def _pg_value(v, kind: str):
    if v is None:
        return None
    if kind.startswith("timestamp"):
        return dt.datetime.fromisoformat(v) if isinstance(v, str) else v
    if kind == "date":
        return dt.date.fromisoformat(v)
    if kind.startswith("time"):
        return dt.time.fromisoformat(v)
    if kind == "boolean":
        return bool(v)
    if kind == "numeric":
        return decimal.Decimal(str(v))
    if kind in ("double precision", "real"):
        return float(v)
    if kind in ("integer", "bigint", "smallint"):
        return int(v)
    if kind == "uuid":
        return uuid.UUID(str(v))
    if kind == "interval":
        return dt.timedelta(seconds=float(v))
    if kind == "ARRAY":
        return json.loads(v) if isinstance(v, str) else v
    if kind == "bytea":
        return v
    return str(v) if not isinstance(v, str) else v


async def _load_postgres(url: str, tables: dict) -> None:
    import asyncpg

    con = await asyncpg.connect(url)
    try:
        kinds = {(r["table_name"], r["column_name"]): r["data_type"] for r in await con.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'")}
        async with con.transaction():
            # Rows go in as they were, in any order: no triggers (the audit log's append-only guard) and no
            # foreign-key checks while loading, as pg_restore does.
            await con.execute("SET LOCAL session_replication_role = replica")
            for table, data in tables.items():
                if not data["rows"]:
                    continue
                columns = data["columns"]
                sql = (f'INSERT INTO "{table}" ({_names(columns)}) VALUES '
                       f'({", ".join(f"${i + 1}" for i in range(len(columns)))})')
                await con.executemany(sql, [[_pg_value(_decode(v), kinds.get((table, c), "text"))
                                             for v, c in zip(row, columns)] for row in data["rows"]])
            for table in tables:
                if (table, "id") in kinds:
                    await con.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                      f'GREATEST((SELECT max(id) FROM "{table}"), 1))')
    finally:
        await con.close()


def _load_sqlite(path: Path, tables: dict) -> None:
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        for table, data in tables.items():
            if data["rows"]:
                columns = data["columns"]
                con.executemany(f'INSERT INTO "{table}" ({_names(columns)}) VALUES '
                                f'({", ".join("?" for _ in columns)})', [[_decode(v) for v in row] for row in data["rows"]])


async def _read(url: str, table: str, columns: list[str]) -> list[dict] | None:
    """The rows of TABLE after the upgrade (None if it no longer exists), with the columns that still exist."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            present = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            if not present:
                return None
            keep = [c for c in columns if c in present]
            cur = con.execute(f'SELECT {_names(keep)} FROM "{table}"')
            return [dict(zip(keep, row)) for row in cur]
    import asyncpg

    con = await asyncpg.connect(url)
    try:
        present = [r["column_name"] for r in await con.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1", table)]
        if not present:
            return None
        keep = [c for c in columns if c in present]
        return [dict(r) for r in await con.fetch(f'SELECT {_names(keep)} FROM "{table}"')]
    finally:
        await con.close()


def _same(before, after) -> bool:
    """A value as loaded and as read back after the upgrade, allowing for how each engine hands types back."""
    before = _decode(before)
    if before is None or after is None:
        return before is None and after is None
    if isinstance(after, bool):
        return bool(before) == after
    if isinstance(after, dt.datetime):
        return dt.datetime.fromisoformat(before) == after if isinstance(before, str) else before == after
    if isinstance(after, dt.date | dt.time):
        return type(after).fromisoformat(before) == after if isinstance(before, str) else before == after
    if isinstance(after, decimal.Decimal | float):
        return abs(float(before) - float(after)) < 1e-9
    if isinstance(after, uuid.UUID):
        return uuid.UUID(str(before)) == after
    if isinstance(after, dt.timedelta):
        return abs(float(before) - after.total_seconds()) < 1e-6
    if isinstance(after, list):
        return (json.loads(before) if isinstance(before, str) else before) == after
    return before == after


async def check(base_url: str, fixture: Path) -> dict:
    data = json.loads(gzip.open(fixture).read())
    problems: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="corridor-upgrade-"))
    if base_url == "sqlite":
        url = f"sqlite:///{work / 'upgraded.sqlite3'}"
        drop = None
    else:
        import asyncpg

        name = f"corridor_upgrade_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(base_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = urlsplit(base_url)._replace(path="/" + name).geturl()
        drop = name
    try:
        await _migrate(url, data["head"])
        if url.startswith("sqlite:///"):
            _load_sqlite(Path(url.removeprefix("sqlite:///")), data["tables"])
        else:
            await _load_postgres(url, data["tables"])
        await _migrate(url, "all")
        rows = 0
        for table, before in data["tables"].items():
            after = await _read(url, table, before["columns"])
            if after is None:
                continue  # a table a later migration replaced: its own migration test checks what became of it
            rows += len(before["rows"])
            # Every row that was there is still there, unchanged; a migration may add rows (a new default category).
            if len(after) < len(before["rows"]):
                problems.append(f"{table}: {len(before['rows'])} rows before, {len(after)} after")
                continue
            key = "id" if "id" in before["columns"] else None
            index = {r[key]: r for r in after} if key else None
            for i, row in enumerate(before["rows"]):
                old = dict(zip(before["columns"], row))
                new = index.get(old[key]) if key else after[i]
                if new is None:
                    problems.append(f"{table}: row {old.get(key)} is gone")
                    break
                wrong = [c for c in new if (table, c) not in REWRITTEN and not _same(old[c], new[c])]
                if wrong:
                    problems.append(f"{table} row {old.get(key)}: {', '.join(wrong)} changed")
                    break
        report = await _verify_audit(url)
        if report.broken or not report.count:
            problems.append(f"audit verify: {report.count} entries, broken at {report.broken}")
        return {"fixture": fixture.name, "problems": problems, "tables": len(data["tables"]), "rows": rows}
    finally:
        if drop:
            import asyncpg

            admin = await asyncpg.connect(base_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            await admin.close()


async def main(base_url: str, fixtures: list[str]) -> None:
    for path in fixtures:
        try:
            result = await check(base_url, Path(path))
        except Exception as exc:  # one fixture failing must not hide the others' results
            result = {"fixture": Path(path).name, "problems": [f"{type(exc).__name__}: {exc}"[:3000]]}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
