"""Scenarios wrk cannot drive, with an asyncio client (httpx): the lesson-change burst, the on-call raise to
200 Server-Sent-Event screens across two server processes, and the OneRoster import (a subprocess).

Each returns rows shaped like the wrk rows (rps, errors, server_ms, client_ms ...) so the table and the budget
checks read them the same way; `summary` is what the table's Notes column shows.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import percentile


@dataclass
class Stage:
    """What a custom scenario gets: the server under test, the run's data and how to start another server."""

    dataset: str
    server: object  # servers.Server
    ctx: object  # scenarios.Ctx
    cookies: tuple[str, str]
    csrf: object  # the session token's (cookie, token) pair, or a function giving it
    env: dict
    url: str  # the run's DATABASE_URL
    logs: Path
    var: Path
    extra: dict = field(default_factory=dict)


def _pcts(values: list[float]) -> dict:
    return {f"p{p}": (round(v, 2) if (v := percentile(values, p)) is not None else None) for p in (50, 95, 99)} | \
        {"max": round(max(values), 2) if values else None}


def _server_ms(response) -> float | None:
    m = re.search(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
    return float(m[1]) if m else None


def _headers(stage: Stage, token: str) -> dict:
    cookie, csrf = stage.csrf(token) if callable(stage.csrf) else stage.csrf  # bound to the session
    return {"Cookie": f"{stage.cookies[0]}={token}; {stage.cookies[1]}={cookie}", "X-CSRFToken": csrf,
            "Accept": "text/html"}


# Lesson-change burst ------------------------------------------------------------------------------------

def lesson_change(stage: Stage, bursts: int = 3) -> list[dict]:
    import aiohttp  # not httpx: its CPU per request, 250 at once on a busy machine, was part of the drain time

    from bench.scenarios import incident_body

    ctx = stage.ctx
    staff = ctx.all_staff
    if not staff:
        return [{"status": "harness error", "note": "no staff sessions"}]
    run = uuid.uuid4().hex[:8]
    sent: list[str] = []  # every key sent; each incident's note carries its key, to count them in the database after
    saved: set[str] = set()  # keys answered 303 (saved)

    async def burst(client, n: int, out: dict) -> float:
        rng = __import__("random").Random(1000 + n)
        bodies = []
        for s in staff:
            key = str(uuid.uuid4())
            sent.append(key)
            body = incident_body(ctx, s, rng, note=f"Lesson change [{BURST_MARK}{run} {key}]")
            bodies.append((s, key, body.replace("%7B%7BKEY%7D%7D", "{{KEY}}").replace("{{KEY}}", key)))

        async def one(s, key, body):
            t = time.perf_counter()
            try:
                async with client.post(stage.server.url + "/incidents/", data=body, allow_redirects=False,
                                       headers=_headers(stage, s.token)
                                       | {"Content-Type": "application/x-www-form-urlencoded"}) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
                return
            out["client"].append((time.perf_counter() - t) * 1000)
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
            if status == 303:
                saved.add(key)
            if (ms := _server_ms(r)) is not None:
                out["server"].append(ms)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(s, k, b) for s, k, b in bodies))
        return time.perf_counter() - t0

    async def main():
        out = {"client": [], "server": [], "statuses": {}, "errors": {}}
        walls = []
        for n in range(bursts):
            await asyncio.to_thread(stage.server.wait_idle)
            # Per burst, a new client with every connection opened just before (a GET /healthz each): the burst
            # measures the POSTs, not 250 handshakes, and no connection has sat idle past the server's keep-alive
            # timeout (reusing one the server is closing fails with a ReadError that is the client's, not the app's).
            connector = aiohttp.TCPConnector(limit=len(staff) + 10)
            async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                             auto_decompress=False, timeout=aiohttp.ClientTimeout(total=60)) as client:
                async def probe():
                    async with client.get(stage.server.url + "/healthz") as r:
                        await r.read()
                await asyncio.gather(*(probe() for _ in staff))
                walls.append(await burst(client, n, out))
        return out, walls

    await_idle = stage.server.wait_idle()
    cpu0 = stage.server.cpu()
    out, walls = asyncio.run(main())
    cpu = stage.server.cpu() - cpu0
    counts = count_marked(stage.url, BURST_MARK + run)
    lost = sorted(saved - set(counts))  # answered "saved" but not in the database
    doubled = sum(n - 1 for n in counts.values() if n > 1)  # one key, more than one incident
    unanswered_saved = sorted(set(counts) - saved)  # in the database though the answer was not "saved"
    ok = sum(v for k, v in out["statuses"].items() if k < 400)
    bad = sum(v for k, v in out["statuses"].items() if k >= 400) + sum(out["errors"].values())
    total = sum(out["statuses"].values()) + sum(out["errors"].values())
    rps = round(ok / sum(walls), 1) if walls else 0.0
    drain = round(max(walls), 3) if walls else None
    detail = {**out["errors"], **{f"http_{k}": v for k, v in out["statuses"].items() if k >= 400}}
    if lost:
        detail["lost_records"] = len(lost)
    if doubled:
        detail["doubled_records"] = doubled
    if unanswered_saved:
        detail["saved_without_303"] = len(unanswered_saved)
    where = f"{stage.server.workers} worker{'s' if stage.server.workers > 1 else ''}" if stage.dataset == "trust" \
        else "one process"
    return [{"concurrency": len(staff), "status": "measured", "requests": total, "rps": rps, "errors": bad,
             "error_detail": detail, "statuses": out["statuses"], "server_ms": _pcts(out["server"]),
             "client_ms": _pcts(out["client"]), "no_floor": True, "drain_s": drain, "bursts_s": [round(w, 3) for w in walls],
             "cpu_ms_per_req": round(cpu * 1000 / total, 3) if total else None, "idle_wait_s": await_idle,
             "records": {"sent": len(sent), "answered_saved": len(saved), "in_database": sum(counts.values()),
                         "lost": len(lost), "doubled": doubled, "saved_without_303": len(unanswered_saved)},
             "burst_faults": bad + len(lost) + doubled, "server_workers": stage.server.workers,
             "summary": f"{bursts} bursts of {len(staff)} POSTs at once ({where}); drained in "
                        + ", ".join(f"{w:.2f}" for w in walls) + f" s; records: {len(saved)} saved, "
                        f"{sum(counts.values())} in the database, {len(lost)} lost, {doubled} doubled"}]


BURST_MARK = "bench-burst-"


def count_marked(url: str, mark: str) -> dict[str, int]:
    """Incidents whose note carries `[<mark> <key>]`, counted per key, read straight from the database."""
    sql = "SELECT note, COUNT(*) FROM incident WHERE note LIKE {} GROUP BY note"
    pattern = f"%[{mark} %"
    if url.startswith("sqlite"):
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(url.split("sqlite:///", 1)[1], timeout=30)) as con:
            rows = con.execute(sql.format("?"), (pattern,)).fetchall()
    else:
        import asyncpg

        async def fetch():
            con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
            try:
                return [tuple(r) for r in await con.fetch(sql.format("$1"), pattern)]
            finally:
                await con.close()
        rows = asyncio.run(fetch())
    out: dict[str, int] = {}
    for note, n in rows:
        m = re.search(r"\[" + re.escape(mark) + r" ([^\]]+)\]", note)
        if m:
            out[m[1]] = out.get(m[1], 0) + n
    return out


# Paced, open-loop load ---------------------------------------------------------------------------------

def paced_schedule(streams: dict[str, tuple[float, list]], seconds: float, seed: int = 5) -> list[tuple]:
    """[(at_s, kind, req)]: each kind at its own fixed rate (evenly spaced, a random phase), merged in time order."""
    import random

    rng = random.Random(seed)
    out = []
    for kind, (rate, reqs) in streams.items():
        phase = rng.random() / rate
        for i in range(int(rate * seconds)):
            out.append((phase + i / rate, kind, reqs[i % len(reqs)]))
    return sorted(out, key=lambda x: x[0])


async def run_paced(stage: Stage, schedule: list[tuple]) -> dict:
    """Send each request at its time in the schedule, whatever the earlier answers (open loop: a slow answer never
    delays the next request, as wrk's closed loop would). Client time counts from the scheduled moment, so the
    client's own lateness is not hidden; the lateness itself is recorded too.

    aiohttp (already installed: pywebpush needs it), not httpx: its C parser costs a fraction of httpx's CPU per
    request, and on a shared 2-core machine a load client that needs more CPU than it gets falls behind its
    schedule (httpx did, by seconds, at 80 requests a second with the machine busy). Bodies are read, not
    decompressed; redirects are not followed (a POST's 303 is its answer); cookies are sent as a header."""
    import aiohttp

    by_kind: dict[str, dict] = {}
    lag: list[float] = []
    prepared: dict = {}

    def headers_for(req) -> dict:
        key = (req.session, req.method, req.headers)
        if key not in prepared:
            h = {"Accept-Encoding": "gzip, deflate, br", **dict(req.headers)}
            cookie = f"{stage.cookies[0]}={req.session}" if req.session else ""
            if req.method != "GET":
                pair = stage.csrf(req.session) if callable(stage.csrf) else stage.csrf
                cookie += f"; {stage.cookies[1]}={pair[0]}"
                h["X-CSRFToken"] = pair[1]
                h["Content-Type"] = "application/x-www-form-urlencoded"
            if cookie:
                h["Cookie"] = cookie
            prepared[key] = h
        return prepared[key]

    async def one(session, t_at: float, kind: str, req) -> None:
        k = by_kind.setdefault(kind, {"server": [], "client": [], "statuses": {}, "errors": {}})
        body = req.body.replace("{{KEY}}", uuid.uuid4().hex) if req.body else None
        try:
            async with session.request(req.method, stage.server.url + req.path, data=body, headers=headers_for(req),
                                       allow_redirects=False) as r:
                await r.read()
                status, timing = r.status, r.headers.get("server-timing", "")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            k["errors"][type(exc).__name__] = k["errors"].get(type(exc).__name__, 0) + 1
            return
        k["client"].append((time.perf_counter() - t_at) * 1000)
        k["statuses"][status] = k["statuses"].get(status, 0) + 1
        if m := re.search(r"dur=([\d.]+)", timing):
            k["server"].append(float(m[1]))

    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=4)  # under the server's 5 s keep-alive
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        # A pool of open connections first, so the schedule measures requests, not TCP handshakes.
        async def probe():
            async with session.get(stage.server.url + "/healthz") as r:
                await r.read()
        await asyncio.gather(*(probe() for _ in range(16)))
        tasks = []
        t0 = time.perf_counter() + 0.05
        for at, kind, req in schedule:
            delay = t0 + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.append(max(0.0, -delay) * 1000)
            tasks.append(asyncio.create_task(one(session, t0 + at, kind, req)))
        await asyncio.gather(*tasks)
    return {"by_kind": by_kind, "lag": lag}


def paced_scenario(stage: Stage, rates: dict[str, float]) -> list[dict]:
    """One school's staff (at the trust: its first school's) sending each kind of request at its rate, open loop:
    a warm-up at the same rates, a wait for an idle server, then the measured run."""
    import dataclasses

    from bench import scenarios

    ctx = stage.ctx
    school = ctx.all_staff[0].school_id if ctx.all_staff else ctx.sessions[0].school_id
    staff = [s for s in ctx.all_staff if s.school_id == school][:40] or \
        [s for s in ctx.sessions if s.school_id == school]
    local = dataclasses.replace(ctx, sessions=staff)
    plans = {"lookup": scenarios.lookup, "incident_post": scenarios.incident_post, "home": scenarios.home}
    streams = {kind: (rate, plans[kind](local)) for kind, rate in rates.items()}
    seconds = stage.extra.get("seconds", 10)
    warmup = stage.extra.get("warmup", 3)
    if warmup > 0:
        asyncio.run(run_paced(stage, paced_schedule(streams, warmup, seed=3)))
    idle = stage.server.wait_idle()
    cpu0 = stage.server.cpu()
    t = time.perf_counter()
    res = asyncio.run(run_paced(stage, paced_schedule(streams, seconds)))
    wall = time.perf_counter() - t
    cpu = stage.server.cpu() - cpu0
    kinds = res["by_kind"]
    every = lambda key: [v for k in kinds.values() for v in k[key]]  # noqa: E731
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    for k in kinds.values():
        for code, n in k["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
        for name, n in k["errors"].items():
            errors[name] = errors.get(name, 0) + n
    total = sum(statuses.values()) + sum(errors.values())
    ok = sum(n for code, n in statuses.items() if code < 400)
    bad = total - ok
    by_kind = {kind: {"requests": sum(k["statuses"].values()), "rate": rates[kind], "server_ms": _pcts(k["server"]),
                      "client_ms": _pcts(k["client"]),
                      "errors": sum(n for c, n in k["statuses"].items() if c >= 400) + sum(k["errors"].values())}
               for kind, k in kinds.items()}
    lag = _pcts(res["lag"])
    server = _pcts(every("server"))
    parts = "; ".join(f"{kind} p50/p99 {_f(b['server_ms']['p50'])}/{_f(b['server_ms']['p99'])} ms"
                      for kind, b in by_kind.items())
    note = f"{sum(rates.values()):.0f} req/s for {seconds:g} s from {len(staff)} staff at school {school}; server {parts}; " \
           f"server CPU {cpu / wall:.0%} of a core"
    if (lag["p99"] or 0) > 20:
        note += f"; the client fell behind its schedule (lateness p99 {lag['p99']} ms: a busy machine), so the " \
                "load came in bunches"
    return [{"concurrency": "paced", "status": "measured", "requests": total, "rps": round(ok / wall, 1),
             "errors": bad, "error_detail": {**errors, **{f"http_{c}": n for c, n in statuses.items() if c >= 400}},
             "statuses": statuses, "server_ms": server, "client_ms": _pcts(every("client")),
             "cpu_ms_per_req": round(cpu * 1000 / total, 3) if total else None, "cpu_share": round(cpu / wall, 3),
             "by_kind": by_kind, "lookup_p99": by_kind.get("lookup", {}).get("server_ms", {}).get("p99"),
             "client_lateness_ms": lag, "idle_wait_s": idle, "no_floor": True, "summary": note}]


def _f(v) -> str:
    return "-" if v is None else f"{v:.1f}"


# Two workers against one ----------------------------------------------------------------------------------

def workers_ratio(stage: Stage) -> list[dict]:
    from bench import scenarios, servers

    if not servers.has_workers_option():
        return [{"status": "not available yet", "note": "`corridor serve` has no --workers option yet"}]
    import dataclasses

    runner = stage.extra["runner"]
    # Ten schools' sessions: each process builds its own lookup index per school on first use, and ten schools'
    # worth is built within the warm-up, so neither run measures index building.
    ctx = dataclasses.replace(stage.ctx, sessions=stage.ctx.sessions[:10])
    lookups, homes = scenarios.lookup(ctx), scenarios.home(ctx)
    reqs = [r for i, lk in enumerate(lookups) for r in ((lk, homes[i % len(homes)]) if i % 3 == 0 else (lk,))]
    rows = {}
    # Both servers are started for this row (the run's own server has served every scenario before it: its caches
    # and pools would favour it), one at a time, the same way: idle, warm-up reaching every worker, idle, measure.
    for n in (1, 2):
        server = servers.corridor(f"corridor-postgres-{n}w", stage.env | {"DATABASE_URL": stage.url,
                                                                        "LIVE_BACKEND": "postgres"},
                                  stage.logs, workers=n)
        server.start()
        try:
            server.wait_idle()
            warm = runner.warm(server, reqs, 64, cookies=stage.cookies, csrf=stage.csrf, tag=f"workers-{n}")
            idle = server.wait_idle()
            rows[n] = runner.measure(server, reqs, 64, cookies=stage.cookies, csrf=stage.csrf, tag=f"workers-{n}")
            rows[n].update(warm or {}, idle_wait_s=idle)
        finally:
            server.stop()
    one, two = rows[1], rows[2]
    ratio = round(two["rps"] / one["rps"], 2) if one["rps"] else None
    from bench.trust_scale import machine_ceiling

    # What two workers could serve at most here: the cores over the CPU a request took of the workers, PostgreSQL
    # and wrk together (all three share the cores), as the trust-scale rows print it.
    ceiling = machine_ceiling({"cpu_ms_per_req": two.get("cpu_ms_per_req"), **two.get("extra", {})}, one["rps"])
    note = (f"; this machine's ceiling for two workers: {ceiling['rps']} req/s, {ceiling['ratio']}× one worker "
            f"(CPU a request: {ceiling['cpu_ms_per_req']} ms of the workers, PostgreSQL and wrk)") if ceiling else ""
    return [{"concurrency": 64, "status": "measured", "requests": one["requests"] + two["requests"], "rps": two["rps"],
             "machine_ceiling": ceiling,
             "errors": one["errors"] + two["errors"], "error_detail": {**one["error_detail"], **two["error_detail"]},
             "statuses": {}, "server_ms": two["server_ms"], "client_ms": two["client_ms"],
             "cpu_ms_per_req": two.get("cpu_ms_per_req"), "worker_ratio": ratio, "one_worker": one,
             "two_workers": two, "no_floor": True,
             "summary": f"one process {one['rps']:.0f} req/s ({one.get('cpu_ms_per_req')} ms CPU/req), --workers 2 "
                        f"{two['rps']:.0f} req/s ({two.get('cpu_ms_per_req')} ms CPU/req): {ratio}× "
                        f"(workers reached in the warm-up: {two.get('workers_reached', '?')} of "
                        f"{two.get('workers_seen', '?')}){note}"}]


# On-call raise -> 200 responder screens, two processes ----------------------------------------------------

async def disable_people(people: list[int]) -> None:
    """People a scenario added to the run's copy of the trust, taken away when it ends (off duty and disabled, on the
    tables' engine), so no later scenario routes alerts to them or counts them on call."""
    from app import clock
    from app.domain.oncall.tables import OnDuty
    from app.domain.schools.tables import Person

    if not people:
        return
    now = clock.now()
    async with Person._meta.db.transaction():
        await OnDuty.update({OnDuty.until: now}).where(OnDuty.person.is_in(people) & (OnDuty.until > now))
        await Person.update({Person.disabled_at: now}).where(Person.id.is_in(people))


async def _disable_responders(url: str, people: list[int]) -> None:
    from app import db

    engine = db.bind(url)
    await engine.start_connection_pool(min_size=1, max_size=2)
    try:
        await disable_people(people)
    finally:
        await engine.close_connection_pool()


async def _add_responders(url: str, school_id: int, count: int) -> tuple[list[str], int, int, list[int]]:
    """On this run's copy of the trust: `count` more responders at one school, signed in; and the school's first
    location and on-call reason. Returns (session tokens, location id, reason id, the responders' ids)."""
    import os
    import secrets

    from app import clock, db
    from app.domain.accounts.service import _create_session
    from app.domain.audit.service import Origin
    from app.domain.incidents.tables import Location
    from app.domain.oncall.tables import OnCallReason
    from app.domain.schools.tables import Membership, Person, School
    from app.settings import Settings

    settings = Settings.from_env({**os.environ, "DATABASE_URL": url})
    engine = db.bind(url)
    await engine.start_connection_pool(min_size=1, max_size=4)
    try:
        trust = (await School.select(School.trust).where(School.id == school_id).first())["trust"]
        now = clock.now()
        people = [Person(email=f"responder{n}@school{school_id}.bench.example", display_name=f"Responder {n}",
                         user_handle=secrets.token_urlsafe(32), created_at=now) for n in range(count)]
        async with engine.transaction():
            await Person.insert(*people)
            await Membership.insert(*[Membership(person=p.id, trust=trust, school=school_id, role=role, created_at=now)
                                      for p in people for role in ("staff", "responder")])
        origin = Origin(ip="127.0.0.1", device="corridor-bench")
        tokens = [await _create_session(settings, p.id, p.email, origin, "corridor-bench (sse)") for p in people]
        location = (await Location.select(Location.id).where(Location.school == school_id).first())["id"]
        reason = (await OnCallReason.select(OnCallReason.id).where(OnCallReason.school == school_id).first())["id"]
    finally:
        await engine.close_connection_pool()
    return tokens, location, reason, [p.id for p in people]


def oncall_raise(stage: Stage, responders: int = 200, raises: int = 20) -> list[dict]:
    import httpx

    from bench import servers

    raiser = stage.ctx.sessions[0]
    tokens, location, reason, people = asyncio.run(_add_responders(stage.url, raiser.school_id, responders))
    second = servers.corridor("corridor-postgres-2", stage.env | {"DATABASE_URL": stage.url,
                                                                  "LIVE_BACKEND": "postgres"}, stage.logs)
    second.start()
    try:
        return asyncio.run(_oncall(stage, second, tokens, location, reason, raiser, raises))
    finally:
        second.stop()
        stage.extra["second_server_tracebacks"] = second.log(400).count("Traceback")
        asyncio.run(_disable_responders(stage.url, people))


async def _oncall(stage: Stage, second, tokens: list[str], location: int, reason: int, raiser, raises: int) -> list[dict]:
    import httpx

    seen: dict[int, list[float]] = {}  # request id -> when each screen got it
    connected = 0
    ready = asyncio.Event()
    failures: dict[str, int] = {}

    async def screen(client: httpx.AsyncClient, token: str):
        nonlocal connected
        headers = {"Cookie": f"{stage.cookies[0]}={token}", "Accept": "text/event-stream"}
        try:
            async with client.stream("GET", "/oncall/board/stream", headers=headers) as r:
                if r.status_code != 200:
                    failures[f"http_{r.status_code}"] = failures.get(f"http_{r.status_code}", 0) + 1
                    connected += 1
                    if connected == len(tokens):
                        ready.set()
                    return
                event, data, counted = "", [], False
                async for line in r.aiter_lines():
                    if not counted:
                        counted = True
                        connected += 1
                        if connected == len(tokens):
                            ready.set()
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:])
                    elif line == "":
                        if event == "request":
                            now = time.perf_counter()
                            for rid in set(re.findall(r'id="oncall-(\d+)"', "".join(data))):
                                seen.setdefault(int(rid), []).append(now)
                        event, data = "", []
        except (httpx.HTTPError, asyncio.CancelledError) as exc:
            if not isinstance(exc, asyncio.CancelledError):
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1

    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=len(tokens) + 10)
    timeout = httpx.Timeout(30, read=None)
    servers_ = [stage.server, second]
    clients = [httpx.AsyncClient(base_url=s.url, limits=limits, timeout=timeout) for s in servers_]
    tasks = [asyncio.create_task(screen(clients[i % 2], t)) for i, t in enumerate(tokens)]
    latencies: list[float] = []
    started: dict[int, float] = {}
    post_ms, missing = [], 0
    try:
        try:
            await asyncio.wait_for(ready.wait(), 60)
        except asyncio.TimeoutError:
            pass
        t_connected = connected
        await asyncio.sleep(1)
        async with httpx.AsyncClient(base_url=stage.server.url, timeout=30) as poster:
            for n in range(raises):
                body = {"idempotency_key": str(uuid.uuid4()), "location_id": location, "reason_id": reason,
                        "urgency": "urgent", "note": f"bench raise {n}"}
                t0 = time.perf_counter()
                r = await poster.post("/oncall/", data=body, headers=_headers(stage, raiser.token))
                post_ms.append((time.perf_counter() - t0) * 1000)
                m = re.search(r"/oncall/(\d+)", r.headers.get("location", ""))
                if r.status_code != 303 or not m:
                    failures[f"raise_http_{r.status_code}"] = failures.get(f"raise_http_{r.status_code}", 0) + 1
                    continue
                rid = int(m[1])
                started[rid] = t0
                deadline = time.perf_counter() + 5
                while len(seen.get(rid, [])) < t_connected and time.perf_counter() < deadline:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.25)
        for rid, t0 in started.items():
            got = seen.get(rid, [])
            latencies += [(t - t0) * 1000 for t in got]
            missing += max(0, t_connected - len(got))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in clients:
            await c.aclose()
    e2e = _pcts(latencies)
    return [{"concurrency": len(tokens), "status": "measured", "requests": len(started), "rps": None, "no_floor": True,
             "errors": sum(failures.values()) + missing, "error_detail": failures | ({"not_received": missing}
                                                                                     if missing else {}),
             "statuses": {}, "server_ms": {}, "client_ms": {}, "e2e_ms": e2e, "cpu_ms_per_req": None,
             "screens_connected": t_connected, "deliveries": len(latencies),
             "summary": f"{t_connected} screens ({len(tokens) // 2 + len(tokens) % 2}+{len(tokens) // 2} on 2 "
                        f"processes), {len(started)} raises: raise->screen p50 {e2e['p50']} / p95 {e2e['p95']} / "
                        f"max {e2e['max']} ms; POST p50 {_pcts(post_ms)['p50']} ms"}]


# OneRoster import -----------------------------------------------------------------------------------------

def import_time(stage: Stage) -> list[dict]:
    from bench import servers

    out = stage.var / "import.json"
    out.unlink(missing_ok=True)
    cmd = [str(servers.BIN / "python"), "-m", "bench.import_bench", "--pupils", "2640", "--out", str(out),
           "--db", str(stage.var / "import.sqlite3")]
    done = subprocess.run(cmd, cwd=servers.ROOT, env=stage.env, capture_output=True, text=True, timeout=600,
                          check=False)
    if not out.exists():
        return [{"concurrency": 1, "status": "harness error", "note": (done.stderr or done.stdout)[-300:]}]
    r = json.loads(out.read_text())
    return [{"concurrency": 1, "status": "measured", "requests": 1, "rps": None, "errors": r["problems"],
             "error_detail": {}, "statuses": {}, "server_ms": {}, "client_ms": {}, "cpu_ms_per_req": None,
             "no_floor": True, "import": r,
             "summary": f"zip {r['zip_kb']} KB ({r['users']:,} users): build {r['build_s']} s, preview "
                        f"{r['preview_s']} s, apply {r['apply_s']} s (store+apply); {r['created']:,} pupils created"}]
