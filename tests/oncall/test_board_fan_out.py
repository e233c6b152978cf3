"""An on-call event is read and rendered once per process, then sent to every board that may see it.

With 200 responders on two processes, each board reading the event and the request and rendering the card for
itself put raise → screen p95 at half a second. Now the first stream to take an event renders it and the others
on the process send the same text; each still checks its own session first (tests/oncall/test_stream_after_signout.py),
another school's boards never get it, and the content is what each board would have rendered for itself.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AsyncExitStack

import pytest

from app.controllers import oncall as oncall_pages
from app.domain.incidents.service import LONDON, ensure_defaults
from app.domain.incidents.tables import Location
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallReason
from app.main import create_app
from tests.conftest import _member, add_pupil, csrf, http_client, sign_in
from tests.live_kit import OpenStream, running
from tests.oncall.test_stream_after_signout import session_of

EXTRA_RESPONDERS = 6


@pytest.fixture
async def schools(cast, frozen_clock):
    """Tuesday 10:00 UK time; at the cast's school a room, a reason, a pupil and six more responders; at the
    other school a responder of its own, a room and a pupil."""
    frozen_clock.current = dt.datetime(2026, 11, 24, 10, 0, tzinfo=LONDON).astimezone(dt.timezone.utc)
    for school in (cast.school_id, cast.other_school_id):
        await ensure_defaults(school)
        await oncall.ensure_defaults(school)
    cast.room = (await Location.insert(Location(school=cast.school_id, name="Room 12")))[0]["id"]
    cast.reason = (await OnCallReason.select(OnCallReason.id).where(OnCallReason.school == cast.school_id).first())["id"]
    cast.pupil = await add_pupil(cast.school_id, "Ava", "Okafor")
    cast.extra = [await _member(f"r{n}@northbridge.example", f"Responder {n}", cast.school_id, ["staff", "responder"])
                  for n in range(EXTRA_RESPONDERS)]
    cast.other_responder = await _member("responder@elsewhere.example", "Elle Elsewhere", cast.other_school_id,
                                         ["staff", "responder"])
    cast.other_room = (await Location.insert(Location(school=cast.other_school_id, name="Lab 3")))[0]["id"]
    cast.other_reason = (await OnCallReason.select(OnCallReason.id).where(
        OnCallReason.school == cast.other_school_id).first())["id"]
    cast.other_pupil = await add_pupil(cast.other_school_id, "Zed", "Quartermaine")
    return cast


@pytest.fixture
async def app(settings):
    app = create_app(settings)
    async with running(app):
        yield app


@pytest.fixture
def calls(monkeypatch) -> dict[str, int]:
    """How often a card is read, an event looked up and the card template rendered (the real functions run)."""
    counted = {"card": 0, "event": 0, "render": 0}
    card, event, render = oncall.card, oncall.event, oncall_pages.card_html

    async def counting_card(*args, **kwargs):
        counted["card"] += 1
        return await card(*args, **kwargs)

    async def counting_event(*args, **kwargs):
        counted["event"] += 1
        return await event(*args, **kwargs)

    def counting_render(*args, **kwargs):
        counted["render"] += 1
        return render(*args, **kwargs)

    monkeypatch.setattr(oncall, "card", counting_card)
    monkeypatch.setattr(oncall, "event", counting_event)
    monkeypatch.setattr(oncall_pages, "card_html", counting_render)
    return counted


async def raise_as(app, settings, member, room: int, reason: int, pupil: int) -> int:
    async with http_client(app) as client:
        await sign_in(client, settings, member)
        token = await csrf(client, "/oncall/new")
        response = await client.post("/oncall/", follow_redirects=False, data={
            "_csrf_token": token, "location_id": room, "reason_id": reason, "urgency": "urgent", "pupil_id": pupil})
        assert response.status_code == 303
        return int(response.headers["location"].rsplit("/", 1)[1])


async def open_stream(app, settings, stack: AsyncExitStack, member, path: str) -> OpenStream:
    stream = await stack.enter_async_context(OpenStream(app, path, await session_of(settings, member)))
    await stream.wait_for(": connected")
    return stream


async def test_it_reads_and_renders_an_event_once_for_every_board_of_the_school(app, settings, schools, calls):
    s = schools
    responders = [s.responder, s.pastoral, s.head_of_year, s.dsl, *s.extra]
    async with AsyncExitStack() as stack:
        boards = [await open_stream(app, settings, stack, m, "/oncall/board/stream?after=0") for m in responders]
        elsewhere = await open_stream(app, settings, stack, s.other_responder, "/oncall/board/stream?after=0")
        calls.update(card=0, event=0, render=0)

        request_id = await raise_as(app, settings, s.teacher, s.room, s.reason, s.pupil)
        for board in boards:
            await board.wait_for(f'id="oncall-{request_id}"')
        # Ten boards, one read of the event, one of the request, one render.
        assert calls == {"card": 1, "event": 1, "render": 1}
        for board in boards:  # what a responder may see: the room, the reason and the pupil's name and form
            assert "Room 12" in board.text and "Ava Okafor" in board.text
        assert request_id == int(boards[0].text.split('id="oncall-')[1].split('"')[0])

        # The requester's own page follows the request; a responder claims it: one more read and render in all.
        mine = await open_stream(app, settings, stack, s.teacher, f"/oncall/{request_id}/stream?after=0")
        async with http_client(app) as client:
            await sign_in(client, settings, s.responder)
            token = await csrf(client, "/oncall/new")
            calls.update(card=0, event=0, render=0)
            response = await client.post(f"/oncall/{request_id}/acknowledge", data={"_csrf_token": token},
                                         follow_redirects=False)
            assert response.status_code == 303
        for stream in [*boards, mine]:
            await stream.wait_for("Ravi Responder: claimed")
        assert calls == {"card": 1, "event": 1, "render": 1}
        assert "Ava Okafor" in mine.text

        # Another school's request reaches its own responder and none of these boards.
        other_id = await raise_as(app, settings, s.outsider, s.other_room, s.other_reason, s.other_pupil)
        await elsewhere.wait_for(f'id="oncall-{other_id}"')
        assert "Quartermaine" in elsewhere.text
        assert f'id="oncall-{request_id}"' not in elsewhere.text and "Okafor" not in elsewhere.text
        for stream in [*boards, mine]:
            assert f'id="oncall-{other_id}"' not in stream.text and "Quartermaine" not in stream.text


async def test_it_never_hands_one_school_the_render_of_another_schools_event(app, settings, schools):
    """The shared render is made with the school of the stream that asks: an event id of another school (as a
    forged Last-Event-ID catch-up would name) finds nothing, even once the other school's boards rendered it."""
    s = schools
    async with AsyncExitStack() as stack:
        elsewhere = await open_stream(app, settings, stack, s.other_responder, "/oncall/board/stream?after=0")
        other_id = await raise_as(app, settings, s.outsider, s.other_room, s.other_reason, s.other_pupil)
        await elsewhere.wait_for(f'id="oncall-{other_id}"')
        other_event = await oncall.latest_event_id(s.other_school_id)
        # The other school's render is in this process's shared renders now.
        assert await oncall_pages.rendered_event(app, s.other_school_id, other_event) is not None
        assert await oncall_pages.rendered_event(app, s.school_id, other_event) is None
        board = await stack.enter_async_context(OpenStream(
            app, "/oncall/board/stream", await session_of(settings, s.responder),
            headers={"Last-Event-ID": str(other_event - 1)}))
        request_id = await raise_as(app, settings, s.teacher, s.room, s.reason, s.pupil)
        await board.wait_for(f'id="oncall-{request_id}"')
        assert f'id="oncall-{other_id}"' not in board.text and "Quartermaine" not in board.text


async def test_a_guest_or_teacher_cannot_open_the_board(app, settings, schools):
    for member in (schools.teacher, schools.guest):
        async with OpenStream(app, "/oncall/board/stream", await session_of(settings, member)) as stream:
            await stream.wait_closed(5)
            assert stream.status == 404
