"""app.db.raw runs a hot path's fixed statement without Piccolo's query building (issue 12). It must give what
`Table.raw` gives (the same rows, types and all), on the same connection: inside a transaction it sees and is
undone with the transaction's writes, outside one it commits by itself. On SQLite and on PostgreSQL."""

import datetime as dt

import pytest

from app import db
from app.db import _compiled, raw
from app.domain.schools.tables import Person


def test_placeholders_become_the_drivers_own():
    sql = "SELECT a FROM t WHERE b = {} AND c IN ({}, {}) AND d = '{x}'"
    assert _compiled(sql, False) == "SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = '{x}'"
    assert _compiled(sql, True) == "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = '{x}'"
    assert _compiled("SELECT 1", True) == "SELECT 1"


_PERSON = "SELECT id, email, display_name, disabled_at, created_at FROM person WHERE email = {} OR id = {} ORDER BY id"


async def test_rows_are_piccolos_rows(cast):
    ours = await raw(Person, _PERSON, cast.teacher.email, cast.pastoral.id)
    theirs = await Person.raw(_PERSON, cast.teacher.email, cast.pastoral.id)
    assert len(ours) == 2
    assert ours == theirs
    assert [type(v) for v in ours[0].values()] == [type(v) for v in theirs[0].values()]
    assert isinstance(ours[0]["id"], int) and isinstance(ours[0]["created_at"], dt.datetime)


_RENAME = "UPDATE person SET display_name = {} WHERE email = {} RETURNING id"


async def _name(email: str) -> str:
    return (await Person.select(Person.display_name).where(Person.email == email).first())["display_name"]


async def test_inside_a_transaction_it_is_the_transactions_statement(cast):
    with pytest.raises(RuntimeError):
        async with db.atomic():
            rows = await raw(Person, _RENAME, "Renamed Teacher", cast.teacher.email)
            assert rows == [{"id": cast.teacher.id}]
            # Seen by the transaction's own reads...
            assert await _name(cast.teacher.email) == "Renamed Teacher"
            raise RuntimeError("undo it")
    # ... and undone with it.
    assert await _name(cast.teacher.email) == cast.teacher.name


async def test_outside_a_transaction_it_commits_by_itself(cast):
    assert await raw(Person, _RENAME, "Renamed Teacher", cast.teacher.email) == [{"id": cast.teacher.id}]
    assert await _name(cast.teacher.email) == "Renamed Teacher"


def test_sqlite_integers_come_out_as_piccolos_converter_makes_them():
    import sqlite3

    from piccolo.engine.sqlite import convert_int_out

    ours = sqlite3.converters["INTEGER"]
    assert ours is not convert_int_out  # app.db's faster reader is the one registered
    for stored in (b"0", b"-5", b"1099511627776", b"1.0", b"2.5", b"7"):
        assert ours(stored) == convert_int_out(stored) and type(ours(stored)) is int
    with pytest.raises(Exception):
        ours(b"hello")
    with pytest.raises(Exception):
        convert_int_out(b"hello")
