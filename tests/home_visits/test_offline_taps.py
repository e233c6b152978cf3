"""Point 7 over HTTP, as the outbox sends the visitor's taps: the Idempotency-Key and X-Corridor-Person headers,
no form key. A start and an "I'm safe" replayed twice count once; a late "I'm safe" that arrives after two tiers
fired closes the visit and tells everyone alerted, once each, that the visitor is safe; a tap replayed under
another person's session is refused and changes nothing."""

from __future__ import annotations

import datetime as dt

from app.domain.home_visits.tables import HomeVisitEvent
from tests.conftest import csrf, sign_in
from tests.home_visits.kit import authorised, row, world
from tests.home_visits.test_timer import at, texts

SAFE_TEXT = "Home visit: Pat Pastoral has checked out safe."


async def replay(client, path: str, key: str, person: int, token: str):
    return await client.post(path, data={"_csrf_token": token}, follow_redirects=False, headers={
        "Idempotency-Key": key, "X-Corridor-Person": str(person), "X-Corridor-Outbox": "1",
        "Accept": "application/json"})


async def kinds(vid: int) -> list[str]:
    return [e["kind"] for e in await HomeVisitEvent.select(HomeVisitEvent.kind).where(
        HomeVisitEvent.visit == vid).order_by(HomeVisitEvent.id)]


async def test_a_late_im_safe_from_the_outbox_closes_the_visit_and_tells_everyone_alerted_once(
        client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await authorised(w)
    await sign_in(client, settings, cast.pastoral)
    token = await csrf(client, f"/home-visits/{vid}")
    me = cast.pastoral.id
    for _ in range(2):  # the first attempt's answer was lost: the replay is answered from its receipt
        assert (await replay(client, f"/home-visits/{vid}/start", "tap-start-1", me, token)).status_code == 303
    assert (await kinds(vid)).count("started") == 1
    ends = (await row(vid))["ends_at"]
    await at(frozen_clock, ends, minutes=5)   # tier 1: the buddy and the on-call responders
    await at(frozen_clock, ends, minutes=8)   # nobody acknowledged within 2 minutes: lapsed
    await at(frozen_clock, ends, minutes=15)  # tier 2: the DSL team and SLT
    assert (await row(vid))["tier"] == 2
    # Under someone else's session the entry is refused (it waits for its maker) and nothing changes.
    await sign_in(client, settings, w.pastoral2)
    other = await replay(client, f"/home-visits/{vid}/safe", "tap-safe-1", me, await csrf(client, "/"))
    assert other.status_code == 401 and (await row(vid))["state"] == "under_way"
    await sign_in(client, settings, cast.pastoral)
    token = await csrf(client, "/")
    frozen_clock.current = ends + dt.timedelta(minutes=17)
    for _ in range(2):
        assert (await replay(client, f"/home-visits/{vid}/safe", "tap-safe-1", me, token)).status_code == 303
    r = await row(vid)
    assert r["state"] == "finished_safe" and r["next_at"] is None
    assert (await kinds(vid)).count("finished_safe") == 1
    for person in (cast.responder.id, cast.dsl.id):  # alerted at tier 1 and at tier 2
        assert (await texts(person)).count(SAFE_TEXT) == 1, person
    assert await at(frozen_clock, ends, minutes=60) == 0  # the ladder climbs no further
