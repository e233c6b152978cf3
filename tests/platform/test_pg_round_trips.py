"""PostgreSQL: a pooled statement is one round trip. asyncpg's pool reset every connection given back with a
second one (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`); db.CorridorPostgresEngine
gives connections back as they are, after rolling back any transaction left open."""

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from app.domain.schools.tables import Person


def _engine() -> PostgresEngine:
    engine = Person._meta.db
    if not isinstance(engine, PostgresEngine):
        pytest.skip("PostgreSQL's pool")
    return engine


async def test_a_pooled_statement_sends_no_reset_after_it(cast, monkeypatch):
    engine = _engine()
    sent: list[str] = []
    execute = asyncpg.Connection.execute

    async def counting(self, query, *args, **kwargs):
        sent.append(query)
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "execute", counting)
    await Person.select(Person.id).where(Person.email == cast.teacher.email)
    async with engine.transaction():
        await Person.select(Person.id).limit(1)
    assert not [q for q in sent if "RESET" in q.upper() or "UNLISTEN" in q.upper()], sent


async def test_a_transaction_left_open_on_a_pooled_connection_is_still_rolled_back(cast):
    engine = _engine()
    async with engine.pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("UPDATE person SET display_name = 'Not kept' WHERE email = $1", cast.teacher.email)
        pid = await connection.fetchval("SELECT pg_backend_pid()")
    # Every connection of the pool, that one included, sees the name as it was.
    names = set()
    connections = [await engine.pool.acquire() for _ in range(engine.pool.get_size())]
    try:
        for c in connections:
            names.add(await c.fetchval("SELECT display_name FROM person WHERE email = $1", cast.teacher.email))
            assert not (await c.fetchval("SELECT pg_backend_pid()") == pid and c.is_in_transaction())
    finally:
        for c in connections:
            await engine.pool.release(c)
    assert names == {cast.teacher.name}
