"""The leads' board of today's visits (issue 14, point 8): who is out, where, due back when, status; live over
Server-Sent Events like the on-call board (cards rendered once per process, Last-Event-ID resume). The pastoral
leads and the DSL team see it; everyone else and other schools get 404; served no-store. A duress check-out shows
as such only to the DSL team and the alarm's recipients."""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import AsyncExitStack

import pytest

from app.domain.home_visits import service as visits
from app.main import create_app
from tests.conftest import sign_in
from tests.home_visits.kit import authorised, started, world
from tests.home_visits.test_pages import text_of
from tests.live_kit import OpenStream, running
from tests.oncall.test_stream_after_signout import session_of


@pytest.fixture
async def app(settings):
    app = create_app(settings)
    async with running(app):
        yield app


def k() -> dict:
    return {"key": str(uuid.uuid4()), "digest": "d"}


async def test_it_shows_todays_visits_to_the_leads_and_the_dsl_team_only(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    out = await started(w)
    later = await authorised(w, start="15:00")
    tomorrow = await authorised(w, date="2026-12-09")
    for member in (w.lead, cast.dsl):
        await sign_in(client, settings, member)
        page = await client.get("/home-visits/board")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        text = text_of(page.text)
        assert f'id="visit-{out}"' in page.text and f'id="visit-{later}"' in page.text
        assert f'id="visit-{tomorrow}"' not in page.text
        assert "Pat Pastoral, Pip Second" in text and "12 Mill Lane, Northbridge NB1 2AB" in text
        assert "Due back 10:45 · Under way" in text and "Due back 15:45 · Authorised" in text
    for member in (cast.pastoral, w.pastoral2, cast.head_of_year, cast.teacher, cast.responder, cast.admin,
                   cast.guest, cast.outsider):
        await sign_in(client, settings, member)
        for path in ("/home-visits/board", "/home-visits/board/stream"):
            answer = await client.get(path, follow_redirects=False)
            assert answer.status_code == 404, member.email  # a guest on a valid pass included
            assert "Mill Lane" not in answer.text


async def test_the_status_follows_the_clock_the_alarm_and_the_outcome(client, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    ends = frozen_clock.current + dt.timedelta(minutes=45)
    await sign_in(client, settings, w.lead)
    frozen_clock.current = ends
    await visits.tick()
    assert "Under way: time is up" in text_of((await client.get("/home-visits/board")).text)
    frozen_clock.current = ends + dt.timedelta(minutes=5)
    await visits.tick()
    page = (await client.get("/home-visits/board")).text
    assert "Overdue: alarm tier 1" in text_of(page) and f"/home-visits/{vid}/alarm" in page
    await visits.finish_safe(w.actors["pastoral"], vid, **k())
    await visits.record_outcome(w.actors["pastoral"], vid, {"outcome": "refused", "outcome_present": "Dad",
                                                            "outcome_note_left": "no"}, **k())
    assert "Finished safe · Refused (not seen)" in text_of((await client.get("/home-visits/board")).text)


async def test_the_board_updates_live_and_resumes_from_the_last_event(app, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await authorised(w)
    async with AsyncExitStack() as stack:
        lead = await stack.enter_async_context(
            OpenStream(app, "/home-visits/board/stream", await session_of(settings, w.lead)))
        await lead.wait_for(": connected")
        assert lead.status == 200
        await visits.start(w.actors["pastoral"], vid, **k())
        await lead.wait_for(f'id="visit-{vid}"')
        await lead.wait_for("Under way")
        assert "event: visit" in lead.text and "12 Mill Lane" in lead.text
        seen = int([line for line in lead.text.splitlines() if line.startswith("id: ")][-1][4:])
    # Reconnecting with Last-Event-ID: what happened since comes first, once per visit.
    await visits.arrive(w.actors["pastoral"], vid, **k())
    async with OpenStream(app, "/home-visits/board/stream", await session_of(settings, w.lead),
                          headers={"Last-Event-ID": str(seen)}) as again:
        await again.wait_for("On site")
        assert again.text.count(f'id="visit-{vid}"') == 1 and "Under way" not in again.text
    # Another school's board never gets it.
    async with OpenStream(app, "/home-visits/board/stream?after=0", await session_of(settings, cast.outsider)) as no:
        await no.wait_closed(5)
        assert no.status == 404


async def test_a_duress_check_out_shows_live_to_the_dsl_only_where_slt_is_named(app, cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await visits.update_ladder(w.actors["dsl"], {"tier1_minutes": "5", "tier2_minutes": "15", "tier3_minutes": "30",
                                                 "ack_seconds": "120", "headteacher": "",
                                                 "slt": [str(cast.teacher.id)]})
    vid = await started(w)
    async with AsyncExitStack() as stack:
        dsl = await stack.enter_async_context(
            OpenStream(app, "/home-visits/board/stream", await session_of(settings, cast.dsl)))
        lead = await stack.enter_async_context(
            OpenStream(app, "/home-visits/board/stream", await session_of(settings, w.lead)))
        await dsl.wait_for(": connected")
        await lead.wait_for(": connected")
        await visits.finish_duress(w.actors["pastoral"], vid, **k())
        await dsl.wait_for("Duress signal at 10:00")
        await lead.wait_for("Finished safe")
        assert "uress" not in lead.text and f"/home-visits/{vid}/alarm" not in lead.text
