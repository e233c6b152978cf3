"""The on-call board's and the requester's live streams last only as long as the session: signed out everywhere,
disabled, timed out or no longer a responder, the stream ends within a heartbeat, sends nothing more, and its
person stops counting as online."""

import datetime as dt

import pytest

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.incidents.service import LONDON
from app.domain.incidents.tables import Location
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallReason, Presence, RotaSlot
from app.domain.schools.tables import Membership
from app.main import create_app
from tests.conftest import add_pupil, csrf, http_client, sign_in
from tests.live_kit import OpenStream, running, short_heartbeat, until

HEARTBEAT = 0.4
ENDED = "event: ended"


@pytest.fixture
async def school(cast, frozen_clock):
    """Tuesday 10:00 UK time, the responder on the rota, a room, a reason and a pupil."""
    from app.domain.incidents.service import ensure_defaults

    frozen_clock.current = dt.datetime(2026, 11, 24, 10, 0, tzinfo=LONDON).astimezone(dt.timezone.utc)
    await ensure_defaults(cast.school_id)
    await oncall.ensure_defaults(cast.school_id)
    cast.room = (await Location.insert(Location(school=cast.school_id, name="Room 12")))[0]["id"]
    cast.reason = (await OnCallReason.select(OnCallReason.id).where(
        (OnCallReason.school == cast.school_id) & (OnCallReason.name == "Remove a pupil")).first())["id"]
    await RotaSlot.insert(RotaSlot(school=cast.school_id, person=cast.responder.id, weekday=1, starts="08:00",
                                   ends="16:00", tier=1))
    cast.pupil = await add_pupil(cast.school_id, "Ava", "Okafor")
    cast.clock = frozen_clock
    return cast


@pytest.fixture
async def app(settings):
    app = create_app(settings)
    async with running(app):
        yield app


async def raise_as(app, settings, member, school, note: str = "") -> int:
    """The member raises on-call for Ava Okafor from another device; returns the request's id."""
    async with http_client(app) as client:
        await sign_in(client, settings, member)
        token = await csrf(client, "/oncall/new")
        response = await client.post("/oncall/", follow_redirects=False, data={
            "_csrf_token": token, "location_id": school.room, "reason_id": school.reason, "urgency": "urgent",
            "pupil_id": school.pupil, "note": note})
        assert response.status_code == 303
        return int(response.headers["location"].rsplit("/", 1)[1])


async def session_of(settings, member) -> dict[str, str]:
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return {settings.session_cookie: token}


async def board_of(app, settings, member) -> OpenStream:
    return OpenStream(app, "/oncall/board/stream?after=0", await session_of(settings, member))


async def is_online(member) -> bool:
    return member.id in await oncall.online({member.id})


async def test_it_closes_the_board_within_a_heartbeat_of_signing_out_everywhere(app, settings, school, monkeypatch):
    short_heartbeat(monkeypatch, HEARTBEAT)
    async with await board_of(app, settings, school.responder) as board:
        await board.wait_for(": connected")
        await until(lambda: is_online(school.responder))
        await raise_as(app, settings, school.teacher, school)
        await board.wait_for("Okafor")  # while signed in, the board is live

        await accounts.end_all_sessions(school.responder.id, reason="revoked")

        assert await board.wait_closed(HEARTBEAT + 1.0), "the board outlived its session"
        assert ENDED in board.text  # the page is told, and asks to sign in
        after = len(board.text)
        await raise_as(app, settings, school.teacher, school, note="Second request")
        assert "Second request" not in board.text[after:]
        assert not await is_online(school.responder)
        assert await Presence.count() == 0


async def test_it_sends_no_event_after_the_session_ends_even_before_the_next_heartbeat(app, settings, school,
                                                                                      monkeypatch):
    short_heartbeat(monkeypatch, 60)  # no heartbeat falls due during the test: only the check per event acts
    async with await board_of(app, settings, school.responder) as board:
        await board.wait_for(": connected")
        await accounts.end_all_sessions(school.responder.id, reason="revoked")
        await raise_as(app, settings, school.teacher, school, note="Behind the sports hall")
        assert await board.wait_closed(5)
        assert "Okafor" not in board.text and "sports hall" not in board.text and ENDED in board.text
        assert not await is_online(school.responder)


async def test_it_closes_the_board_when_an_admin_disables_the_person(app, settings, school, monkeypatch):
    short_heartbeat(monkeypatch, HEARTBEAT)
    async with await board_of(app, settings, school.responder) as board:
        await board.wait_for(": connected")
        await until(lambda: is_online(school.responder))
        async with http_client(app) as admin:
            await sign_in(admin, settings, school.admin)
            token = await csrf(admin, f"/admin/people/{school.responder.id}")
            response = await admin.post(f"/admin/people/{school.responder.id}/disable",
                                        data={"_csrf_token": token, "reason": "Left the school"})
            assert response.status_code == 200
        assert await board.wait_closed(HEARTBEAT + 1.0)
        assert not await is_online(school.responder)
        assert school.responder.id not in await oncall.on_call(school.school_id, 1)


async def test_it_closes_the_board_when_the_session_idles_out(app, settings, school, monkeypatch):
    short_heartbeat(monkeypatch, HEARTBEAT)
    async with await board_of(app, settings, school.responder) as board:
        await board.wait_for(": connected")
        await until(lambda: is_online(school.responder))
        school.clock.advance(minutes=settings.session_idle_minutes + 1)  # an open board is not activity
        assert await board.wait_closed(HEARTBEAT + 1.0)
        assert not await is_online(school.responder)


async def test_it_stays_open_while_the_session_lasts(app, settings, school, monkeypatch):
    short_heartbeat(monkeypatch, 0.1)
    async with await board_of(app, settings, school.responder) as board:
        await board.wait_for(": connected")
        await until(lambda: heartbeats(board, 3), 3)
        assert not board.ended.is_set() and await is_online(school.responder)
        await raise_as(app, settings, school.teacher, school)
        await board.wait_for("Okafor")
    # The page went away: the person no longer counts as online.
    assert not await is_online(school.responder)


async def heartbeats(board: OpenStream, count: int) -> bool:
    return board.text.count(": heartbeat") >= count


async def test_it_closes_the_board_of_someone_who_is_no_longer_a_responder(app, settings, school, monkeypatch):
    short_heartbeat(monkeypatch, HEARTBEAT)
    async with await board_of(app, settings, school.head_of_year) as board:
        await board.wait_for(": connected")
        await Membership.delete().where((Membership.person == school.head_of_year.id)
                                        & (Membership.role == "head_of_year"))
        assert await board.wait_closed(HEARTBEAT + 1.0)
        await raise_as(app, settings, school.teacher, school)
        assert "Okafor" not in board.text and not await is_online(school.head_of_year)


async def test_it_closes_the_requesters_stream_when_they_are_signed_out_everywhere(app, settings, school,
                                                                                   monkeypatch):
    short_heartbeat(monkeypatch, 60)
    rid = await raise_as(app, settings, school.teacher, school)
    async with OpenStream(app, f"/oncall/{rid}/stream?after=0", await session_of(settings, school.teacher)) as mine:
        await mine.wait_for(": connected")
        await accounts.end_all_sessions(school.teacher.id, reason="revoked")
        async with http_client(app) as responder:
            await sign_in(responder, settings, school.responder)
            token = await csrf(responder, f"/oncall/{rid}")
            await responder.post(f"/oncall/{rid}/acknowledge", data={"_csrf_token": token})
        assert await mine.wait_closed(5)
        assert "Ravi Responder" not in mine.text and "Okafor" not in mine.text and ENDED in mine.text


async def test_it_never_opens_a_stream_for_a_wrong_role_or_another_school(app, settings, school):
    rid = await raise_as(app, settings, school.teacher, school)
    for member, path in ((school.teacher, "/oncall/board/stream"), (school.outsider, f"/oncall/{rid}/stream")):
        async with OpenStream(app, path, await session_of(settings, member)) as stream:
            assert await stream.wait_closed(5)
            assert stream.status == 404 and "Okafor" not in stream.text
        assert not await is_online(member)


async def test_an_idle_board_outlasts_two_minutes_of_heartbeats_without_an_error_or_a_reconnect(
        app, settings, school, monkeypatch, caplog):
    """Two minutes is eight 15-second heartbeats: the stream stays the same one (no end, so the page never
    reconnects), nothing is logged as an error (no "async generator raised StopAsyncIteration"), and the
    first event after the quiet spell still arrives on it."""
    short_heartbeat(monkeypatch, 0.05)
    caplog.set_level("WARNING")
    async with await board_of(app, settings, school.responder) as board:
        await board.wait_for(": connected")
        await until(lambda: heartbeats(board, 10), 5)
        assert not board.ended.is_set()
        await raise_as(app, settings, school.teacher, school)
        await board.wait_for("Okafor")
        assert board.text.count(": connected") == 1
    problems = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")
                or "StopAsyncIteration" in r.getMessage()]
    assert problems == []
