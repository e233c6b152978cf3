"""`make bench`: seed (or reuse) the data sets, serve the app as in production, drive the scenarios with wrk,
measure page weight in Chromium and run Lighthouse, compare everything with DESIGN.md's budgets, print a table
and write bench/results/<timestamp>.json. It never fails the build over a missed budget: it tells the truth.

    .venv/bin/python -m bench [--quick] [--skip pg,browser,lighthouse] [--duration S] [--only lookup,profile]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import secrets
import sys
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("BENCH_VAR") or ROOT / "var" / "bench")  # BENCH_VAR: a baseline's own seeds and files
RESULTS = Path(__file__).resolve().parent / "results"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/corridor_bench")
PG_SEED = os.environ.get("BENCH_PG_SEED", "corridor_bench_seed")
PG_RUN = os.environ.get("BENCH_PG_RUN", "corridor_bench")  # each run's fresh copy of the seed

# The app reads its settings from the environment at import time (piccolo_conf): set them first.
SECRET = secrets.token_urlsafe(36)
os.environ.update({"CORRIDOR_DATA_DIR": str(VAR / "data"), "SECRET_KEY": SECRET, "PUBLIC_URL": "http://localhost:8000",
                   "DATABASE_URL": f"sqlite:///{VAR / 'school.sqlite3'}"})
(VAR / "data").mkdir(parents=True, exist_ok=True)

from bench import budgets as budgets_mod
from bench import data, lighthouse, load, machine, report, servers
from bench.load import Req
from bench import scenarios as scenarios_mod
from bench.scenarios import SCENARIOS, Ctx, Session


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# Sessions and samples for the load clients ---------------------------------------------------------------

async def make_ctx(url: str, dataset: str, sessions_per_school: int) -> Ctx:
    """Sign in the benchmark's member of staff at each school (server-side sessions, as after a passkey sign-in)
    and sample each school's pupils for the plans."""
    from app import db
    from app.domain.accounts.service import _create_session
    from app.domain.audit.service import Origin
    from app.domain.contact_log.tables import ContactLog
    from app.domain.incidents.tables import Category, Location
    from app.domain.pupils.tables import Pupil
    from app.domain.schools.tables import Membership, Person
    from app.settings import Settings

    settings = Settings.from_env({**os.environ, "DATABASE_URL": url})
    engine = db.bind(url)
    pooled = settings.is_postgres
    if pooled:
        await engine.start_connection_pool(min_size=1, max_size=4)
    try:
        users = await Person.select(Person.id, Person.email).where(Person.email.like("staff1@school%.bench.example"))
        sessions = []
        origin = Origin(ip="127.0.0.1", device="corridor-bench")
        for u in sorted(users, key=lambda u: u["id"]):
            school_id = int(re.match(r"staff1@school(\d+)\.", u["email"]).group(1))
            for _ in range(sessions_per_school):
                token = await _create_session(settings, u["id"], u["email"], origin, "corridor-bench (wrk)")
                sessions.append(Session(token, school_id, u["id"]))
        rows = await Pupil.select(Pupil.id, Pupil.school, Pupil.legal_first_name, Pupil.legal_last_name,
                                  Pupil.preferred_first_name, Pupil.tutor_group.name).where(Pupil.left_on.is_null())
        cats = await Category.select(Category.id, Category.school).where(
            (Category.kind == "negative") & Category.retired_at.is_null())
        locs = await Location.select(Location.id, Location.school).where(Location.retired_at.is_null())
        # One pastoral member of staff per school (the follow-up list), and at the first school every member of
        # staff (the lesson-change burst: all of them log at once).
        pastoral = {}
        for m in await Membership.select(Membership.person, Membership.school, Membership.person.email).where(
                Membership.role == "pastoral").order_by(Membership.person):
            pastoral.setdefault(m["school"], m)
        pastoral_sessions = [Session(await _create_session(settings, m["person"], m["person.email"], origin,
                                                           "corridor-bench (wrk)"), sid, m["person"])
                             for sid, m in sorted(pastoral.items())]
        # 250 members of staff for the lesson-change burst and the paced rows: at the school, all of its staff; at
        # the trust, the first schools' staff (80 each) in school order.
        all_staff = []
        if sessions:
            first = sessions[0].school_id
            where = Membership.role.is_in(["staff", "guest"]) & Membership.school.is_not_null()
            if dataset == "school":
                where &= Membership.school == first
            staff = await Membership.select(Membership.person, Membership.person.email, Membership.school).where(
                where).order_by(Membership.school).order_by(Membership.person)
            for m in list({m["person"]: m for m in staff}.values())[:250]:
                token = await _create_session(settings, m["person"], m["person.email"], origin, "corridor-bench (burst)")
                all_staff.append(Session(token, m["school"], m["person"]))
        # The head of year with 2,000 open items (bench/data.py: the first school's staff2).
        hoy = []
        if sessions:
            first = sessions[0].school_id
            m = await Membership.select(Membership.person, Membership.person.email).where(
                (Membership.school == first) & (Membership.role == "head_of_year")
                & (Membership.person.email == f"staff2@school{first}.bench.example")).first()
            if m:
                hoy.append(Session(await _create_session(settings, m["person"], m["person.email"], origin,
                                                         "corridor-bench (wrk)"), first, m["person"]))
        # The pupil with a chronology of ~300 events (bench/data.py, _casework): the first school's pupil with the
        # most contacts logged (the only one with any).
        chronology_pupil = None
        if sessions:
            logged = [r["pupil"] for r in await ContactLog.select(ContactLog.pupil).where(
                ContactLog.school == sessions[0].school_id)]
            chronology_pupil = max(set(logged), key=logged.count) if logged else None
    finally:
        if pooled:
            await engine.close_connection_pool()
    rng = random.Random(2026)
    by_school: dict[int, list[dict]] = {}
    for r in rows:
        by_school.setdefault(r["school"], []).append({
            "id": r["id"], "first": r["legal_first_name"], "last": r["legal_last_name"],
            "preferred": r["preferred_first_name"], "form": r["tutor_group.name"] or ""})
    pupils = {sid: rng.sample(p, min(len(p), 200)) for sid, p in by_school.items()}
    by = lambda rows: {sid: [r["id"] for r in rows if r["school"] == sid] for sid in by_school}  # noqa: E731
    return Ctx(dataset=dataset, sessions=sessions, pupils=pupils, categories=by(cats), locations=by(locs),
               pastoral=pastoral_sessions, all_staff=all_staff, hoy=hoy, chronology_pupil=chronology_pupil)


def csrf_for(session: str | None) -> tuple[str, str]:
    """(cookie, token) for one session, as a page loaded in it would give them: CSRF tokens are bound to the
    session (app/csrf.py), so one pair for every session would be refused."""
    from app.csrf import token_for

    token = token_for(SECRET, session)
    return token, token


def send_once(server: servers.Server, req: Req, cookies: tuple[str, str], csrf: tuple[str, str]):
    import httpx

    headers = dict(req.headers)
    jar = {}
    if req.session:
        jar[cookies[0]] = req.session
    if req.method != "GET":
        pair = csrf(req.session) if callable(csrf) else csrf
        jar[cookies[1]] = pair[0]
        headers["X-CSRFToken"] = pair[1]
    if req.body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    body = req.body.replace("{{KEY}}", secrets.token_hex(16))  # a fresh idempotency key, as plan.lua makes
    return httpx.request(req.method, server.url + req.path, content=body or None, headers=headers, timeout=30)


def sqlite_settings(path: Path) -> dict:
    """The file's journal mode, and what each new connection gets (Piccolo opens one per query outside a
    transaction, so per-connection settings are SQLite's defaults unless the app sets them)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as con:
        get = lambda pragma: con.execute(f"PRAGMA {pragma}").fetchone()[0]
        out = {p: get(p) for p in ("journal_mode", "synchronous", "page_size", "cache_size", "mmap_size")}
    main_py = (ROOT / "src/app/db.py").read_text()
    out["engine_timeout_s"] = (re.search(r"SQLiteEngine\(.*?timeout=(\d+)", main_py) or [None, None])[1]
    out["size_mb"] = round(path.stat().st_size / 1e6, 1)
    return out


async def pg_settings(url: str) -> dict:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        out = {k: await con.fetchval(f"SHOW {k}") for k in ("server_version", "shared_buffers", "synchronous_commit",
                                                             "max_connections", "work_mem")}
        out["database_size"] = await con.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await con.close()
    pool = re.search(r"start_connection_pool\(min_size=(\d+), max_size=(\d+)\)", (ROOT / "src/app/main.py").read_text())
    out["app_pool"] = f"min {pool[1]}, max {pool[2]}" if pool else "unknown"
    return out


# Load runs ----------------------------------------------------------------------------------------------

class Runner:
    def __init__(self, args):
        self.args = args
        self.rows: list[dict] = []
        VAR.mkdir(parents=True, exist_ok=True)

    def levels(self, sc) -> list:
        """The scenario's concurrencies, lowest first; --levels keeps only those asked for (custom rows keep theirs)."""
        if sc.run is not None or not self.args.levels:
            return sorted(sc.concurrency)
        return sorted(c for c in sc.concurrency if c in self.args.levels)

    def measure(self, server: servers.Server, reqs: list[Req], concurrency: int, *, cookies, csrf, tag: str) -> dict:
        plan = VAR / f"plan-{tag}.tsv"
        load.write_plan(plan, reqs, cookie_names=cookies, csrf=csrf)
        cpu0, db0 = server.cpu(), server.db_cpu()
        result = load.run_wrk(server.url, plan, VAR / f"wrk-{tag}-c{concurrency}.json", connections=concurrency,
                              seconds=self.args.duration)
        cpu = server.cpu() - cpu0
        result.cpu_ms_per_req = round(cpu * 1000 / result.requests, 3) if result.requests else None
        if server.database and result.requests:  # PostgreSQL's own CPU, which the app's does not include
            db1 = server.db_cpu()
            result.extra["db_cpu_ms_per_req"] = round(
                sum(t - db0.get(pid, 0.0) for pid, t in db1.items()) * 1000 / result.requests, 3)
        result.extra["server_rss_mb"] = server.rss()
        return asdict(result)

    def warm(self, server: servers.Server, reqs: list[Req], concurrency: int, *, cookies, csrf, tag: str) -> dict:
        """A timed warm-up. On a multi-worker server, with at least 8 connections per worker (one keep-alive
        connection stays with one worker), repeated until every worker's CPU time has grown; returns how many
        workers it reached. The caller waits for an idle server before measuring."""
        if self.args.warmup <= 0:
            return {}
        plan = VAR / f"plan-{tag}-warm.tsv"
        load.write_plan(plan, reqs, cookie_names=cookies, csrf=csrf)
        connections = concurrency if server.workers <= 1 else max(concurrency, 8 * server.workers)
        before = server.worker_cpu()
        reached, seen = 0, len(before)
        for attempt in range(3):
            load.run_wrk(server.url, plan, VAR / f"wrk-{tag}-warm.json", connections=connections * (attempt + 1),
                         seconds=self.args.warmup)
            after = server.worker_cpu()
            seen = len(after)
            reached = sum(1 for pid, t in after.items() if t > before.get(pid, 0.0))
            if server.workers <= 1 or reached >= server.workers:
                break
        return {"workers_reached": reached, "workers_seen": seen, "warm_connections": connections}


def run_floor(runner: Runner, floor: servers.Server, levels: list[int], when: str) -> dict[int, dict]:
    out = {}
    reqs = [Req("GET", "/")]
    for c in levels:  # c=1 first, each level after its own warm-up and an idle server
        floor.wait_idle()
        runner.warm(floor, reqs, c, cookies=("s", "c"), csrf=None, tag="floor")
        floor.wait_idle()
        out[c] = runner.measure(floor, reqs, c, cookies=("s", "c"), csrf=None, tag=f"floor-{when}")
        log(f"  floor ({when}) c={c}: {out[c]['rps']:.0f} req/s, client p99 {out[c]['client_ms']['p99']} ms")
    return out


def run_lean(runner: Runner, env: dict, ctx: Ctx, school_db: Path, cookies: tuple[str, str], logs: Path) -> None:
    """The incident POST's plan against bench/lean_app.py at one client, on a copy of the school as the app left it
    (its sessions included), served by `corridor serve`'s configuration: row `incident_post_lean`."""
    import sqlite3

    lean_db = VAR / "lean.sqlite3"
    data._remove_sqlite(lean_db)
    with closing(sqlite3.connect(school_db)) as source, closing(sqlite3.connect(lean_db)) as target:
        source.backup(target)
    server = servers.corridor("lean", env | {"DATABASE_URL": f"sqlite:///{lean_db}"}, logs,
                              factory="bench.lean_app:create_app")
    base = {"scenario": "incident_post_lean", "title": "Incident POST, lean handler (bench/lean_app.py)",
            "dataset": "school", "no_floor": False}
    reqs = scenarios_mod.incident_post(ctx)
    try:
        server.start()
        probe = send_once(server, reqs[0], cookies, csrf_for)
        if probe.status_code != 303:
            runner.rows.append(base | {"concurrency": 1, "status": "harness error",
                                       "note": f"probe answered {probe.status_code}: {probe.text[:200]}"})
            return
        server.wait_idle()
        warm = runner.warm(server, reqs, 1, cookies=cookies, csrf=csrf_for, tag="school-lean")
        idle = server.wait_idle()
        m = runner.measure(server, reqs, 1, cookies=cookies, csrf=csrf_for, tag="school-lean")
        runner.rows.append(base | {"concurrency": 1, "status": "measured", "plan_requests": len(reqs),
                                   "idle_wait_s": idle, "server_workers": 1, **warm, **m,
                                   "note": "the app's POST cut to its reads and writes through sqlite3 on the "
                                           "loop's thread: the line the app's POST is read against"})
        log(f"  incident_post_lean c=1: {m['rps']:.0f} req/s, server p99 {m['server_ms']['p99']} ms, "
            f"CPU {m.get('cpu_ms_per_req')} ms/req, errors {m['errors']}")
    except Exception as exc:  # noqa: BLE001 - reported, the run goes on
        runner.rows.append(base | {"concurrency": 1, "status": "harness error", "note": f"{type(exc).__name__}: {exc}"[:300]})
    finally:
        server.stop()
        data._remove_sqlite(lean_db)


def run_dataset(runner: Runner, dataset: str, server: servers.Server, ctx: Ctx, cookies: tuple[str, str],
                stage: dict | None = None) -> None:
    csrf = csrf_for
    for sc in SCENARIOS:
        if dataset not in sc.datasets or (runner.args.only and sc.key not in runner.args.only):
            continue
        base = {"scenario": sc.key, "title": sc.title, "dataset": dataset}
        if sc.run is not None:
            from bench.clients import Stage

            st = Stage(dataset=dataset, server=server, ctx=ctx, cookies=cookies, csrf=csrf, var=VAR, **(stage or {}),
                       extra={"runner": runner, "seconds": runner.args.duration, "warmup": runner.args.warmup})
            try:
                rows = sc.run(st)
            except Exception as exc:  # noqa: BLE001 - a broken scenario is reported, the run goes on
                rows = [{"concurrency": c, "status": "harness error", "note": f"{type(exc).__name__}: {exc}"[:300]}
                        for c in sc.concurrency]
            for r in rows:
                r = base | {"concurrency": sc.concurrency[0]} | r | {"note": r.get("note", sc.note)}
                runner.rows.append(r)
                log(f"  {sc.key}: " + (r.get("summary") or f"{r['status']}: {r['note']}"))
            continue
        if sc.plan is None:
            for c in runner.levels(sc):
                runner.rows.append(base | {"concurrency": c, "status": "not built yet", "note": sc.note})
            log(f"  {sc.key}: not built yet")
            continue
        reqs = sc.plan(ctx)
        probe = send_once(server, reqs[0], cookies, csrf)
        if probe.status_code in (404, 405):  # no such route (yet): 405 when another method has the path
            why = f"{reqs[0].method} {reqs[0].path.split('?')[0]} answered {probe.status_code}"
            for c in runner.levels(sc):
                runner.rows.append(base | {"concurrency": c, "status": "not available yet", "note": why})
            log(f"  {sc.key}: not available yet ({why})")
            continue
        if probe.status_code >= 400:
            for c in runner.levels(sc):
                runner.rows.append(base | {"concurrency": c, "status": "harness error",
                                           "note": f"probe answered {probe.status_code}: "
                                                   + " ".join(re.sub(r"<[^>]+>", " ", probe.text).split())[:200]})
            log(f"  {sc.key}: probe answered {probe.status_code}; skipped")
            continue
        # Each session's first request once (lookup indexes, connection pools). Then per concurrency, lowest first
        # (c=1 is measured before any c=64 run of the scenario): wait for an idle server, a timed warm-up at that
        # concurrency, wait for an idle server again (handlers a closed run abandoned still run after its clients
        # have gone: a c=64 warm-up once doubled the c=1 follow-up list's CPU), then the measured run.
        seen = set()
        for r in reqs:
            if r.session not in seen:
                seen.add(r.session)
                send_once(server, r, cookies, csrf)
        for c in runner.levels(sc):
            server.wait_idle()
            warm = runner.warm(server, reqs, c, cookies=cookies, csrf=csrf, tag=f"{dataset}-{sc.key}")
            idle = server.wait_idle()
            m = runner.measure(server, reqs, c, cookies=cookies, csrf=csrf, tag=f"{dataset}-{sc.key}")
            runner.rows.append(base | {"concurrency": c, "status": "measured", "plan_requests": len(reqs),
                                       "sessions": len(seen), "idle_wait_s": idle, "server_workers": server.workers,
                                       **warm, **m})
            log(f"  {sc.key} c={c}: {m['rps']:.0f} req/s, server p99 {m['server_ms']['p99']} ms, "
                f"client p99 {m['client_ms']['p99']} ms, errors {m['errors']}")


def browser_and_lighthouse(server: servers.Server, ctx: Ctx, cookies: tuple[str, str], lookup_ok: bool,
                           skip: set[str]) -> tuple[dict, dict]:
    import subprocess

    weight: dict = {}
    lh: dict = {}
    session = ctx.sessions[0].token
    if "browser" not in skip:
        pupils = ctx.pupils[ctx.sessions[0].school_id]
        if lookup_ok:
            # A member of staff mid-morning has opened a few profiles: fill "Recently viewed" (8 entries), so the
            # lookup page weighs the same whichever scenarios ran before it.
            csrf = csrf_for
            for p in pupils[-8:]:
                send_once(server, Req("GET", f"/pupils/{p['id']}", session=session), cookies, csrf)
        query = next((p["last"][:3] for p in pupils if len(p["last"]) >= 4 and p["last"].isascii()), "smi")
        out = VAR / "weight.json"
        out.unlink(missing_ok=True)
        cmd = [str(servers.BIN / "python"), "-m", "bench.browser", "--base", server.browser_url, "--session", session,
               "--cookie-name", cookies[0], "--query", query, "--pupil", str(pupils[0]["id"]), "--out", str(out)]
        if lookup_ok:
            cmd.append("--lookup")
        if not Path("/usr/bin/chromium").exists():
            weight = {"error": "Chromium is not installed at /usr/bin/chromium (make chromium)"}
        else:
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
            weight = json.loads(out.read_text()) if out.exists() else {
                "error": f"page weight failed: {(done.stderr or done.stdout)[-800:]}"}
        log("  page weight: " + (weight.get("error") or ", ".join(
            f"{k} {v['bytes'] / 1024:.1f} KB" for k, v in weight.get("pages", {}).items())))
    if "lighthouse" not in skip:
        why = lighthouse.available()
        if why:
            lh = {"error": why}
        else:
            for name, path, cookie in (("sign-in", "/signin", None), ("home", "/", f"{cookies[0]}={session}")):
                lh[name] = lighthouse.run(server.browser_url + path, cookie=cookie, out_dir=VAR, name=name)
                r = lh[name]
                log(f"  lighthouse {name}: " + (r.get("error") or " ".join(f"{k}={v}" for k, v in r["scores"].items())))
    return weight, lh


# Budgets ------------------------------------------------------------------------------------------------

def evaluate(rows: list[dict], weight: dict, lh: dict, skip: set[str]) -> list[dict]:
    out = []
    built = {sc.key: sc for sc in SCENARIOS}
    for b in budgets_mod.BUDGETS:
        base = {"budget": b.label, "design_row": b.design_row}
        if b.not_built:
            out.append(base | {"status": "not built yet", "note": b.not_built})
            continue
        if b.scenario:
            matching = [r for r in rows if r["scenario"] == b.scenario and (b.dataset is None or r["dataset"] == b.dataset)
                        and (b.concurrency is None or r["concurrency"] == b.concurrency)]
            if matching and all(r["status"] == "not built yet" for r in matching):
                out.append(base | {"status": "not built yet", "note": matching[0].get("note", "")})
                continue
            if not matching:
                sc = built.get(b.scenario)
                status = "not built yet" if sc and not sc.built else "not measured"
                why = sc.note if sc and not sc.built else (
                    "PostgreSQL not reachable or skipped" if b.dataset == "trust" else "scenario skipped")
                out.append(base | {"status": status, "note": why})
                continue
            out.extend(budgets_mod.check_rows(b, matching))
            continue
        if b.page == "quick entry":  # its own row only while it cannot be measured; once it can, "*" covers it
            if "browser" in skip or "error" in weight:
                out.append(base | {"status": "not measured", "note": weight.get("error", "skipped")})
            elif "quick entry" not in weight.get("pages", {}):
                out.append(base | {"status": "not available yet",
                                   "note": weight.get("unavailable", {}).get("quick entry", "")})
            continue
        if b.metric in ("page_bytes", "third_party"):
            if "browser" in skip or "error" in weight:
                out.append(base | {"status": "not measured", "note": weight.get("error", "skipped")})
                continue
            for name, page in weight.get("pages", {}).items():
                value = page["bytes"] if b.metric == "page_bytes" else page["third_party"]
                met, margin = budgets_mod.verdict(b, value)
                out.append(base | {"where": name, "measured": value, "unit": b.unit, "limit": b.limit,
                                   "status": "met" if met else "missed", "margin": margin})
        elif b.metric == "fragment_bytes":
            frags = weight.get("fragments", {})
            if not frags:
                out.append(base | {"status": "not measured", "note": weight.get("error") or "no fragment available yet"})
            for name, frag in frags.items():
                if "bytes" not in frag:
                    out.append(base | {"where": name, "status": "not measured", "note": frag.get("error", "")})
                    continue
                met, margin = budgets_mod.verdict(b, frag["bytes"])
                out.append(base | {"where": name, "measured": frag["bytes"], "unit": b.unit, "limit": b.limit,
                                   "status": "met" if met else "missed", "margin": margin})
        elif b.metric.startswith("lh_"):
            if "lighthouse" in skip or "error" in lh:
                out.append(base | {"status": "not measured", "note": lh.get("error", "skipped")})
                continue
            category = b.metric[3:]
            for name, r in lh.items():
                score = r.get("scores", {}).get(category)
                if score is None:
                    out.append(base | {"where": name, "status": "not measured", "note": r.get("error", "no score")})
                    continue
                met, margin = budgets_mod.verdict(b, score)
                out.append(base | {"where": name, "measured": score, "unit": "", "limit": b.limit,
                                   "status": "met" if met else "missed", "margin": margin})
    return out


# Main ---------------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", "10")),
                    help="seconds per measured load run (default 10)")
    ap.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", "3")),
                    help="seconds of warm-up before each scenario (default 3)")
    ap.add_argument("--quick", action="store_true", help="3 s runs, 1 s warm-up: a smoke test, not figures to keep")
    ap.add_argument("--skip", default=os.environ.get("BENCH_SKIP", ""),
                    help="comma-separated: sqlite, pg, browser, lighthouse")
    ap.add_argument("--only", default="", help="comma-separated scenario keys (default: all)")
    ap.add_argument("--levels", default="", help="comma-separated wrk concurrencies to run (default: 1,64)")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/<timestamp>.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3, 1
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    args.levels = {int(s) for s in args.levels.split(",") if s.strip()}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    result: dict = {"started_at": stamp, "machine": machine.describe(),
                    "config": {"duration_s": args.duration, "warmup_s": args.warmup, "skip": sorted(args.skip),
                               "only": sorted(args.only), "server": "corridor serve (uvicorn; 1 process on SQLite, --workers 2 on PostgreSQL when the option exists)",
                               "load_tool": "wrk -t1 (Lua plan: bench/wrk/plan.lua)",
                               "budgets_table": budgets_mod.digest()},
                    "datasets": {}, "floor": {}, "runs": [], "page_weight": {}, "lighthouse": {}, "budgets": []}
    drift = budgets_mod.design_drift()
    if drift:
        log("WARNING: " + drift)
        result["budgets_warning"] = drift
    if load.wrk_version() == "missing":
        print("wrk is not installed: `apt-get install -y wrk` (make bench does this as root).", file=sys.stderr)
        return 1
    m = result["machine"]
    log(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}, SQLite {m['sqlite']}; "
        f"uvicorn {m['packages']['uvicorn']} ({m['uvicorn_loop']} + {m['uvicorn_http']})")

    # Data sets
    pg_why = None if "pg" not in args.skip else "skipped (--skip pg)"
    if "sqlite" not in args.skip:
        log(f"Data set 'school' ({data.SCHOOL.label}) ...")
        result["datasets"]["school"] = data.ensure_sqlite_seed(data.SCHOOL, VAR / "school-seed.sqlite3")
        d = result["datasets"]["school"]
        log(f"  {'generated in ' + str(d['seconds']) + ' s' if d['generated'] else 'cached'} (fingerprint {d['fingerprint']})")
    if pg_why is None:
        pg_why = asyncio.run(data.pg_reachable(PG_BASE))
    if pg_why is None:
        m["postgresql"] = asyncio.run(data.pg_server_version(PG_BASE))
        log(f"Data set 'trust' ({data.TRUST.label}, PostgreSQL {m['postgresql']}) ...")
        result["datasets"]["trust"] = data.ensure_pg_seed(data.TRUST, PG_BASE, PG_SEED)
        d = result["datasets"]["trust"]
        log(f"  {'generated in ' + str(d['seconds']) + ' s' if d['generated'] else 'cached'} (fingerprint {d['fingerprint']})")
    else:
        log(f"PostgreSQL: not measured ({pg_why})")
        result["datasets"]["trust"] = {"skipped": pg_why}

    runner = Runner(args)
    levels = sorted({c for sc in SCENARIOS if sc.plan for c in runner.levels(sc)})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "CORRIDOR_DATA_DIR": str(VAR / "data"), "SECRET_KEY": SECRET}
    if os.environ.get("PYTHONPATH"):  # e.g. a baseline: another checkout's src/ served by this harness
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    logs = VAR / "logs"
    floor = servers.floor(env | {"DATABASE_URL": f"sqlite:///{VAR / 'floor.sqlite3'}"}, logs)
    cookie_names = ("corridor_session", "corridor_csrf")  # http://localhost: the development names
    weight, lh = {}, {}
    try:
        floor.start(ready_path="/")
        log("Floor: a bare Litestar endpoint, served by `corridor serve`'s own uvicorn configuration")
        floor_before = run_floor(runner, floor, levels, "before")

        if "sqlite" not in args.skip:
            log("Large school on SQLite")
            run_path = VAR / "school.sqlite3"
            data.fresh_sqlite(VAR / "school-seed.sqlite3", run_path)
            url = f"sqlite:///{run_path}"
            result["db_settings"] = {"sqlite": sqlite_settings(run_path)}
            ctx = asyncio.run(make_ctx(url, "school", sessions_per_school=8))
            app = servers.corridor("corridor-sqlite", env | {"DATABASE_URL": url}, logs)
            app.start()
            try:
                run_dataset(runner, "school", app, ctx, cookie_names, {"env": env, "url": url, "logs": logs})
                lookup_ok = any(r["scenario"] == "lookup" and r["status"] == "measured" for r in runner.rows) or \
                    send_once(app, Req("POST", "/pupils/search", "q=a", ctx.sessions[0].token, (("HX-Request", "true"),)),
                              cookie_names, csrf_for).status_code not in (404, 405)
                if not ({"browser", "lighthouse"} <= args.skip):
                    log("Page weight (Chromium) and Lighthouse, against the SQLite server")
                    weight, lh = browser_and_lighthouse(app, ctx, cookie_names, lookup_ok, args.skip)
            finally:
                app.stop()
                result["server_log_errors"] = {"sqlite": app.log().count("Traceback")}
            if not args.only or "incident_post" in args.only:
                log("The lean handler (bench/lean_app.py): the incident POST's physical line on this stack")
                run_lean(runner, env, ctx, run_path, cookie_names, logs)

        if pg_why is None:
            log("Trust on PostgreSQL")
            data.fresh_pg(PG_BASE, PG_SEED, PG_RUN)
            url = data.pg_url(PG_BASE, PG_RUN)
            result.setdefault("db_settings", {})["postgres"] = asyncio.run(pg_settings(url))
            ctx = asyncio.run(make_ctx(url, "trust", sessions_per_school=1))
            # LIVE_BACKEND=postgres (what "auto" picks on PostgreSQL, said outright): the on-call scenario starts a
            # second process on the same database, and live events cross between them through LISTEN/NOTIFY.
            # Two workers when `corridor serve` has --workers (issue 12), as production would run the trust.
            workers = 2 if servers.has_workers_option() else 1
            result["config"]["trust_workers"] = workers
            log(f"  corridor serve {'--workers 2' if workers == 2 else '(one process: no --workers option yet)'}")
            app = servers.corridor("corridor-postgres", env | {"DATABASE_URL": url, "LIVE_BACKEND": "postgres"}, logs,
                                   workers=workers)
            app.start()
            try:
                run_dataset(runner, "trust", app, ctx, cookie_names, {"env": env, "url": url, "logs": logs})
            finally:
                app.stop()
                result.setdefault("server_log_errors", {})["postgres"] = app.log().count("Traceback")

        floor_after = run_floor(runner, floor, levels, "after")
    finally:
        floor.stop()

    # The floor: the mean of before and after, so a drifting machine shows as a spread, not a bias.
    for c in levels:
        b, a = floor_before[c]["rps"], floor_after[c]["rps"]
        result["floor"][str(c)] = {"rps": round((a + b) / 2, 1), "before": floor_before[c], "after": floor_after[c],
                                   "drift": round((a - b) / b, 3) if b else None}
    for r in runner.rows:
        f = result["floor"].get(str(r["concurrency"]))
        if r["status"] == "measured" and f and f["rps"] and r.get("rps") and not r.get("no_floor"):
            r["floor_ratio"] = round(r["rps"] / f["rps"], 3)
    budgets_mod.derive(runner.rows)
    result["runs"] = runner.rows
    result["page_weight"], result["lighthouse"] = weight, lh
    result["budgets"] = evaluate(runner.rows, weight, lh, args.skip)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    report.print_report(result)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{stamp}.json"
        path.write_text(json.dumps(result, indent=1, default=str))
        print(f"\nResults: {path.relative_to(ROOT)}  (whole run: {result['elapsed_s']:.0f} s)")
    return 0
