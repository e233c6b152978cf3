"""A query whose caller is cancelled (a page that goes away cancels its live stream, sometimes in the middle of
the stream's session check) leaves no connection behind that still reads the database as it was then."""

import asyncio

import pytest

from app.domain.schools.tables import Person


async def test_a_read_cancelled_midway_leaves_no_connection_reading_the_past(cast):
    reading = asyncio.ensure_future(Person.select(Person.id).first())
    await asyncio.sleep(0)  # the query is on its way to the database
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading

    await Person.update({Person.display_name: "Tara Renamed"}).where(Person.id == cast.teacher.id)

    # Every read after the write sees it, whichever pooled connection it runs on (the pool holds a few:
    # enough reads to use each of them twice). A connection given back while the cancelled read still held
    # its statement open would answer the first read on it from before the write: a session created since
    # would be "no session".
    for _ in range(8):
        row = await Person.select(Person.display_name).where(Person.id == cast.teacher.id).first()
        assert row["display_name"] == "Tara Renamed"
