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
    import httpx

    from bench.scenarios import incident_body

    ctx = stage.ctx
    staff = ctx.all_staff
    if not staff:
        return [{"status": "harness error", "note": "no staff sessions"}]

    async def burst(client, n: int, out: dict) -> float:
        rng = __import__("random").Random(1000 + n)
        bodies = [(s, incident_body(ctx, s, rng).replace("%7B%7BKEY%7D%7D", "{{KEY}}")
                   .replace("{{KEY}}", str(uuid.uuid4()))) for s in staff]

        async def one(s, body):
            t = time.perf_counter()
            try:
                r = await client.post("/incidents/", content=body, headers=_headers(stage, s.token)
                                      | {"Content-Type": "application/x-www-form-urlencoded"})
            except httpx.HTTPError as exc:
                out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
                return
            out["client"].append((time.perf_counter() - t) * 1000)
            out["statuses"][r.status_code] = out["statuses"].get(r.status_code, 0) + 1
            if (ms := _server_ms(r)) is not None:
                out["server"].append(ms)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(s, b) for s, b in bodies))
        return time.perf_counter() - t0

    async def main():
        out = {"client": [], "server": [], "statuses": {}, "errors": {}}
        limits = httpx.Limits(max_connections=len(staff) + 10, max_keepalive_connections=len(staff) + 10)
        async with httpx.AsyncClient(base_url=stage.server.url, limits=limits, timeout=60) as client:
            await client.get("/healthz")
            walls = []
            for n in range(bursts):
                walls.append(await burst(client, n, out))
                await asyncio.sleep(1)
        return out, walls

    cpu0 = stage.server.cpu()
    out, walls = asyncio.run(main())
    cpu = stage.server.cpu() - cpu0
    ok = sum(v for k, v in out["statuses"].items() if k < 400)
    bad = sum(v for k, v in out["statuses"].items() if k >= 400) + sum(out["errors"].values())
    total = sum(out["statuses"].values())
    rps = round(ok / sum(walls), 1) if walls else 0.0
    return [{"concurrency": len(staff), "status": "measured", "requests": total, "rps": rps, "errors": bad,
             "error_detail": {**out["errors"], **{f"http_{k}": v for k, v in out["statuses"].items() if k >= 400}},
             "statuses": out["statuses"], "server_ms": _pcts(out["server"]), "client_ms": _pcts(out["client"]),
             "cpu_ms_per_req": round(cpu * 1000 / total, 3) if total else None, "no_floor": True,
             "summary": f"{bursts} bursts of {len(staff)} POSTs at once; each burst done in "
                        + ", ".join(f"{w:.1f}" for w in walls) + " s"}]


# On-call raise -> 200 responder screens, two processes ----------------------------------------------------

async def _add_responders(url: str, school_id: int, count: int) -> tuple[list[str], int, int]:
    """On this run's copy of the trust: `count` more responders at one school, signed in; and the school's first
    location and on-call reason. Returns (session tokens, location id, reason id)."""
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
    return tokens, location, reason


def oncall_raise(stage: Stage, responders: int = 200, raises: int = 20) -> list[dict]:
    import httpx

    from bench import servers

    raiser = stage.ctx.sessions[0]
    tokens, location, reason = asyncio.run(_add_responders(stage.url, raiser.school_id, responders))
    second = servers.corridor("corridor-postgres-2", stage.env | {"DATABASE_URL": stage.url,
                                                                  "LIVE_BACKEND": "postgres"}, stage.logs)
    second.start()
    try:
        return asyncio.run(_oncall(stage, second, tokens, location, reason, raiser, raises))
    finally:
        second.stop()
        stage.extra["second_server_tracebacks"] = second.log(400).count("Traceback")


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
