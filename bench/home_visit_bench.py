"""Home visit: a missed deadline -> the first tier's alert on a responder's screen (issue 14; DESIGN.md's budget
p95 <= 5 s, timers in two processes).

On the run's copy of the trust, at its first school: `screens` responders are added, marked on duty (so the
ladder's first tier, "the buddy and the on-call responders", is them whatever the seed's rota says), signed in
and connected to `GET /notifications/stream`, the live alerts every page of the app listens to (the header's
alerts), split over two `corridor serve` processes, both running the visit timer (the run's `--workers 2`
server, or a second process on the same database when it has one worker; `LIVE_BACKEND=postgres`).

Then `visits` home visits under way are written to the database directly, as the app leaves a visit whose
"time is up" reminder has gone (state under_way, step 2), with their first tier due at staggered moments a few
seconds ahead: the server's clock cannot be moved in a benchmark, and a real visit lasts at least 5 minutes and
its first tier comes 5 minutes after the end, so `ends_at` is set to (the moment the tier is due - 5 minutes).
Nothing else is short-cut: the servers' own timer loops find the visits, take the step (one process per visit),
store the alert and publish it; each screen's stream renders it.

Latency = from the moment the tier was due (`next_at`) to each screen receiving the `event: notification` of that
visit's alert (the message's id is the person's alert row, mapped to its visit through the alert's link after
the run). Exactly once is counted in the database (tier-1 escalation rows and alerts per visit) and on the
screens (notification events per visit per screen). The visits are finished afterwards, so their second tier
never fires into the scenarios that come after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
import time

from bench.clients import Stage, _pcts

LEAD_S = 8.0  # the first deadline comes this long after the visits are written (every screen is connected by then)
SPREAD_S = 50.0  # the deadlines are spread over this long
WAIT_AFTER_S = 15.0  # how long after the last deadline a screen may still receive its alert


def run(stage: Stage, visits: int = 50, screens: int = 20) -> list[dict]:
    from bench import servers

    school_id = stage.ctx.sessions[0].school_id
    made = asyncio.run(_setup(stage.url, school_id, screens, visits))
    second = None
    urls = [stage.server.url]
    workers = getattr(stage.server, "workers", 1) or 1
    if workers < 2:  # timers in two processes: a second server on the same database
        second = servers.corridor("corridor-postgres-hv", stage.env | {"DATABASE_URL": stage.url,
                                                                       "LIVE_BACKEND": "postgres"}, stage.logs)
        second.start()
        urls.append(second.url)
    try:
        return asyncio.run(_measure(stage, urls, made, visits, workers if second is None else 2))
    finally:
        if second is not None:
            second.stop()
            stage.extra["hv_second_server_tracebacks"] = second.log(400).count("Traceback")
        asyncio.run(_finish(stage.url, made))


async def _engine(url: str):
    from app import db

    engine = db.bind(url)
    await engine.start_connection_pool(min_size=1, max_size=4)
    return engine


async def _setup(url: str, school_id: int, screens: int, visits: int) -> dict:
    """The responders (on duty, signed in), one visiting member of staff per visit (so no reminder or alert of one
    visit goes to another's people) and the pupils the visits are for."""
    import os

    from app.domain.accounts.service import _create_session
    from app.domain.audit.service import Origin
    from app.domain.pupils.tables import Pupil
    from app.settings import Settings

    settings = Settings.from_env({**os.environ, "DATABASE_URL": url})
    engine = await _engine(url)
    try:
        made = await add_people(school_id, screens, visits)
        origin = Origin(ip="127.0.0.1", device="corridor-bench")
        made["tokens"] = [await _create_session(settings, person, email, origin, "corridor-bench (hv sse)")
                          for person, email in zip(made["responders"], made.pop("responder_emails"))]
        made["pupils"] = [r["id"] for r in await Pupil.select(Pupil.id).where(
            (Pupil.school == school_id) & Pupil.left_on.is_null()).order_by(Pupil.id).limit(visits)]
    finally:
        await engine.close_connection_pool()
    return made


async def add_people(school_id: int, screens: int, visits: int) -> dict:
    """`screens` responders on duty for the next three hours and `visits` pastoral staff (the visitors), members of
    `school_id`, in one transaction on the tables' engine. `stand_down` takes them away again."""
    from app import clock
    from app.domain.oncall.tables import OnDuty
    from app.domain.schools.tables import Membership, Person, School

    run = secrets.token_hex(3)
    trust = (await School.select(School.trust).where(School.id == school_id).first())["trust"]
    now = clock.now()
    responders = [Person(email=f"hv-responder{n}-{run}@school{school_id}.bench.example",
                         display_name=f"Responder {n}", user_handle=secrets.token_urlsafe(32), created_at=now)
                  for n in range(screens)]
    visitors = [Person(email=f"hv-visitor{n}-{run}@school{school_id}.bench.example",
                       display_name=f"Visitor {n}", user_handle=secrets.token_urlsafe(32), created_at=now)
                for n in range(visits)]
    async with Person._meta.db.transaction():
        await Person.insert(*responders, *visitors)
        await Membership.insert(
            *[Membership(person=p.id, trust=trust, school=school_id, role=role, created_at=now)
              for p in responders for role in ("staff", "responder")],
            *[Membership(person=p.id, trust=trust, school=school_id, role=role, created_at=now)
              for p in visitors for role in ("staff", "pastoral")])
        await OnDuty.insert(*[OnDuty(school=school_id, person=p.id, since=now - dt.timedelta(hours=1),
                                     until=now + dt.timedelta(hours=3)) for p in responders])
    return {"school": school_id, "responders": [p.id for p in responders],
            "responder_emails": [p.email for p in responders], "visitors": [p.id for p in visitors],
            "pupils": [], "visit_ids": []}


async def _write_visits(url: str, made: dict, dues: list[dt.datetime]) -> list[int]:
    """Visits under way whose end-time reminder has gone, each with its first tier due at its moment."""
    from app.domain.home_visits.tables import HomeVisit, HomeVisitPupil, HomeVisitStaff

    engine = await _engine(url)
    ids = []
    try:
        async with engine.transaction():
            for n, due in enumerate(dues):
                ends = due - dt.timedelta(minutes=5)  # the school's default ladder: tier 1 at end + 5 minutes
                start = ends - dt.timedelta(minutes=45)
                visitor = made["visitors"][n]
                visit = HomeVisit(school=made["school"], planner=visitor, address="1 Bench Road", purpose="bench",
                                  planned_start=start, planned_end=ends,
                                  buddy=made["responders"][n % len(made["responders"])], state="under_way",
                                  first_visit=False, needs_two=False, checked_by=visitor, checked_at=start,
                                  check_purpose_agreed=True, authorised_by=made["responders"][0], authorised_at=start,
                                  started_at=start, ends_at=ends, step=2, tier=0, next_at=due, created_at=start)
                await visit.save()
                ids.append(visit.id)
                await HomeVisitStaff.insert(HomeVisitStaff(visit=visit.id, person=visitor, phone="07700900000"))
                if made["pupils"]:
                    await HomeVisitPupil.insert(HomeVisitPupil(visit=visit.id,
                                                               pupil=made["pupils"][n % len(made["pupils"])]))
    finally:
        await engine.close_connection_pool()
    return ids


async def _counts(url: str, visit_ids: list[int], recipient_ids: list[int]) -> dict:
    """From the database: tier-1 escalations and overdue alerts per visit, and each received alert row's visit."""
    from app.domain.home_visits.tables import HomeVisitEscalation
    from app.domain.notifications.tables import Alert, AlertRecipient

    engine = await _engine(url)
    try:
        tiers: dict[int, int] = {}
        higher = 0  # a higher tier: must not fire within the scenario's minute
        for r in await HomeVisitEscalation.select(HomeVisitEscalation.visit, HomeVisitEscalation.tier).where(
                HomeVisitEscalation.visit.is_in(visit_ids)):
            if r["tier"] == 1:
                tiers[r["visit"]] = tiers.get(r["visit"], 0) + 1
            else:
                higher += 1
        links = {f"/home-visits/{v}/alarm": v for v in visit_ids}
        alerts: dict[int, int] = {}
        for a in await Alert.select(Alert.link).where(Alert.link.is_in(list(links)) & (Alert.kind == "home_visit")):
            alerts[links[a["link"]]] = alerts.get(links[a["link"]], 0) + 1
        of_recipient = {}
        for chunk in range(0, len(recipient_ids), 500):
            for r in await AlertRecipient.select(AlertRecipient.id, AlertRecipient.alert.link).where(
                    AlertRecipient.id.is_in(recipient_ids[chunk:chunk + 500])):
                of_recipient[r["id"]] = links.get(r["alert.link"])
    finally:
        await engine.close_connection_pool()
    return {"tier1": tiers, "higher": higher, "alerts": alerts, "of_recipient": of_recipient}


async def _finish(url: str, made: dict) -> None:
    """Stop the visits' timers and take the scenario's people away (`stand_down`), so nothing of this scenario
    fires or is routed to during the next one."""
    engine = await _engine(url)
    try:
        await stand_down(made)
    finally:
        await engine.close_connection_pool()


async def stand_down(made: dict) -> None:
    """The visits finished safe (their second tier never fires), the responders off duty, and every person the
    scenario added disabled: a disabled person is never alerted. Without this the 50 visitors stayed on the first
    school's pastoral team for every later scenario on the trust, and every incident there was routed to them
    (about 60 alert rows a POST instead of 9)."""
    from app import clock
    from app.domain.home_visits.tables import HomeVisit
    from bench.clients import disable_people

    if made.get("visit_ids"):
        await HomeVisit.update({HomeVisit.state: "finished_safe", HomeVisit.next_at: None,
                                HomeVisit.finished_at: clock.now()}).where(HomeVisit.id.is_in(made["visit_ids"]))
    await disable_people([*made.get("responders", []), *made.get("visitors", [])])


async def _measure(stage: Stage, urls: list[str], made: dict, visits: int, processes: int) -> list[dict]:
    import httpx

    tokens = made["tokens"]
    got: list[tuple[int, int, float]] = []  # (screen, alert row id, when received: wall clock)
    connected = 0
    live: set[int] = set()  # screens whose stream answered 200
    ready = asyncio.Event()
    failures: dict[str, int] = {}

    def fail(why: str) -> None:
        failures[why] = failures.get(why, 0) + 1

    async def screen(n: int, client: httpx.AsyncClient, token: str):
        nonlocal connected
        headers = {"Cookie": f"{stage.cookies[0]}={token}", "Accept": "text/event-stream"}
        counted = False
        try:
            async with client.stream("GET", "/notifications/stream", headers=headers) as r:
                if r.status_code != 200:
                    fail(f"http_{r.status_code}")
                    return
                live.add(n)
                event, ident = "", ""
                async for line in r.aiter_lines():
                    if not counted:
                        counted = True
                        connected += 1
                        if connected == len(tokens):
                            ready.set()
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("id:"):
                        ident = line[3:].strip()
                    elif line == "":
                        if event == "notification" and ident.isdigit():
                            got.append((n, int(ident), time.time()))
                        event, ident = "", ""
        except (httpx.HTTPError, asyncio.CancelledError) as exc:
            if not isinstance(exc, asyncio.CancelledError):
                fail(type(exc).__name__)
        finally:
            if not counted:
                connected += 1
                if connected == len(tokens):
                    ready.set()

    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=len(tokens) + 10)
    timeout = httpx.Timeout(30, read=None)
    # With --workers 2 one address serves both processes: a connection per screen, the kernel spreads them.
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=timeout) for u in urls]
    tasks = [asyncio.create_task(screen(i, clients[i % len(clients)], t)) for i, t in enumerate(tokens)]
    rng = random.Random(14)
    ids: list[int] = []
    try:
        try:
            await asyncio.wait_for(ready.wait(), 60)
        except asyncio.TimeoutError:
            pass
        screens_connected = len(live)
        await asyncio.sleep(1)
        first = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=LEAD_S)
        # Staggered: evenly over SPREAD_S with a random offset each (some deadlines fall in one timer tick).
        dues = sorted(first + dt.timedelta(seconds=i * SPREAD_S / visits + rng.uniform(0, SPREAD_S / visits))
                      for i in range(visits))
        made["visit_ids"] = ids = await _write_visits(stage.url, made, dues)
        due_of = dict(zip(ids, [d.timestamp() for d in dues]))
        end = dues[-1].timestamp() + WAIT_AFTER_S
        while time.time() < end:
            if len({(s, r) for s, r, _ in got}) >= len(ids) * screens_connected:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # a duplicate would come straight after
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in clients:
            await c.aclose()
    counts = await _counts(stage.url, ids, sorted({r for _, r, _ in got}))
    latencies, per_screen_visit = [], {}
    for s, rid, at in got:
        visit = counts["of_recipient"].get(rid)
        if visit is None:
            continue  # another alert (none is expected: these responders are new)
        per_screen_visit[(s, visit)] = per_screen_visit.get((s, visit), 0) + 1
        if per_screen_visit[(s, visit)] == 1:
            latencies.append((at - due_of[visit]) * 1000)
    not_received = sum(1 for s in live for v in ids if (s, v) not in per_screen_visit)
    doubled_on_screens = sum(c - 1 for c in per_screen_visit.values() if c > 1)
    tier1_wrong = sum(1 for v in ids if counts["tier1"].get(v, 0) != 1)
    alerts_wrong = sum(1 for v in ids if counts["alerts"].get(v, 0) != 1)
    higher_tiers = counts["higher"]
    faults = {"not_received": not_received, "doubled_on_screens": doubled_on_screens,
              "visits_without_exactly_one_tier1": tier1_wrong, "visits_without_exactly_one_alert": alerts_wrong,
              "higher_tiers_fired": higher_tiers}
    e2e = _pcts(latencies)
    once = "every visit alerted exactly once" if not (tier1_wrong or alerts_wrong or doubled_on_screens) else \
        f"NOT exactly once: {tier1_wrong} visits' tier 1, {alerts_wrong} visits' alerts, {doubled_on_screens} doubles"
    return [{"concurrency": len(tokens), "status": "measured", "requests": len(ids), "rps": None, "no_floor": True,
             "errors": sum(failures.values()) + sum(faults.values()),
             "error_detail": failures | {k: v for k, v in faults.items() if v},
             "statuses": {}, "server_ms": {}, "client_ms": {}, "e2e_ms": e2e, "cpu_ms_per_req": None,
             "alert_faults": sum(faults.values()), "screens_connected": screens_connected,
             "deliveries": len(latencies), "timer_processes": processes,
             "summary": f"{len(ids)} visits over {SPREAD_S:.0f} s, {screens_connected} screens, timers in {processes} "
                        f"processes: tier due -> screen p50 {e2e['p50']} / p95 {e2e['p95']} / max {e2e['max']} ms; "
                        f"{once}" + (f"; {not_received} deliveries missing" if not_received else "")}]
