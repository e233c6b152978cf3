"""Trust scale (issue 17, point 7): the 75,000-pupil, 90-school trust on PostgreSQL, served by `corridor serve
--workers 2` and, in the same run, by one process: pupil lookup, quick entry (the incident POST and the page it
redirects to) and the on-call board (raise -> board -> cancel) at 64 clients, 4 members of staff at each of 16
schools, every response checked for another school's rows.

The load client is aiohttp, closed loop (each of the 64 clients sends its next request when the last is answered),
not wrk: wrk's Lua `response()` is not told which request (so which school) a response answers, and the check
needs that for every response. aiohttp costs CPU in the harness's process, on the same two cores as the server
(its own CPU per request is in the row); the server's CPU per request, from /proc, is the figure to read on a
shared machine.

The leak check (`LeakCheck`) reads identifiers out of each body: pupil ids (links, data-pupil-id, pupil_id
inputs), pupil names (`class="pupil-name"`), category and location ids (the quick-entry form's choices), incident
and on-call request ids (links), and staff names (the bench's staff are "Staff N (school S)"). Each is looked up
in the owners read from the database at the start (pupils, categories, locations) or, for records made during the
run (incidents, on-call requests), at the end; an identifier owned by another school is a LEAK. A pupil name is a
leak only when no pupil of the client's school has that name and a pupil of another school has (names repeat
across 75,000 synthetic pupils). tests/platform/test_bench_leak_check.py feeds it another school's rows.
"""

from __future__ import annotations

import asyncio
import html
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.load import percentile

PARTS = ("lookup", "quick_entry", "oncall_board")
TITLES = {"lookup": "Trust scale: pupil lookup",
          "quick_entry": "Trust scale: quick entry (POST + page)",
          "oncall_board": "Trust scale: on-call raise -> board",
          "isolation": "Trust scale: no school sees another's rows"}
CLIENTS = 64
SCHOOLS = 16  # at least ten schools; 64 clients = 4 members of staff at each of 16
RESPONDING_ROLES = ("responder", "pastoral", "head_of_year", "dsl")  # on-call: may raise (staff) and see the board


# The leak check -----------------------------------------------------------------------------------------

ID_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("pupil", re.compile(r'(?:/pupils/|data-pupil-id="|name="pupil_id" value=")(\d+)')),
    ("incident", re.compile(r'/incidents/(\d+)')),
    ("oncall", re.compile(r'/oncall/(\d+)')),
    ("category", re.compile(r'name="category_id" value="(\d+)"')),
    ("staff", re.compile(r'\(school (\d+)\)')),  # bench staff display names: the school's id itself
]
LOCATION_SELECT = re.compile(r'<select[^>]*name="location_id"[^>]*>(.*?)</select>', re.DOTALL)
OPTION = re.compile(r'<option value="(\d+)"')
PUPIL_NAME = re.compile(r'class="pupil-name">([^<]+)<')
DEFERRED = ("incident", "oncall")  # made during the run: their owners are read from the database at the end


@dataclass
class Leak:
    school: int  # the school whose member of staff received the response
    kind: str  # pupil, pupil_name, incident, oncall, category, location, staff
    value: str
    owner: int | str  # the school that owns it (for a name: the schools with a pupil of that name)
    what: str = ""  # which request

    def __str__(self) -> str:
        return f"{self.what or 'response'} for school {self.school} carried {self.kind} {self.value} of school {self.owner}"


@dataclass
class LeakCheck:
    """Owners of every identifier a response may carry; `check` each response with the school it was sent for."""

    owners: dict[str, dict[int, int]]  # kind -> {id: school}; kinds of ID_PATTERNS and "location"
    names: dict[str, set[int]] = field(default_factory=dict)  # pupil display name -> schools with such a pupil
    checked: int = 0
    ids_seen: int = 0
    leaks: list[Leak] = field(default_factory=list)
    unknown: dict[str, int] = field(default_factory=dict)  # identifiers no owner was found for (by kind)
    pending: list[tuple[int, str, int, str]] = field(default_factory=list)  # (school, kind, id, what): resolved later

    def check(self, school: int, body: str, what: str = "") -> list[Leak]:
        """The leaks in one response for `school` (also kept in self.leaks). Ids of records made during the run
        whose owner is not known yet are kept for `resolve`."""
        self.checked += 1
        found: list[Leak] = []
        ids: list[tuple[str, int]] = [(kind, int(v)) for kind, rx in ID_PATTERNS for v in set(rx.findall(body))]
        for block in LOCATION_SELECT.findall(body):
            ids += [("location", int(v)) for v in set(OPTION.findall(block))]
        for kind, value in ids:
            self.ids_seen += 1
            owner = value if kind == "staff" else self.owners.get(kind, {}).get(value)
            if owner is None:
                if kind in DEFERRED:
                    self.pending.append((school, kind, value, what))
                else:
                    self.unknown[kind] = self.unknown.get(kind, 0) + 1
            elif owner != school:
                found.append(Leak(school, kind, str(value), owner, what))
        for raw in set(PUPIL_NAME.findall(body)):
            name = html.unescape(raw).strip()
            self.ids_seen += 1
            schools = self.names.get(name)
            if schools is None:
                self.unknown["pupil_name"] = self.unknown.get("pupil_name", 0) + 1
            elif school not in schools:
                found.append(Leak(school, "pupil_name", name, ",".join(map(str, sorted(schools))), what))
        self.leaks += found
        return found

    def resolve(self, owners: dict[str, dict[int, int]]) -> list[Leak]:
        """Check the ids kept for later against owners read at the end (records made during the run)."""
        found = []
        for school, kind, value, what in self.pending:
            owner = owners.get(kind, {}).get(value, self.owners.get(kind, {}).get(value))
            if owner is None:
                self.unknown[kind] = self.unknown.get(kind, 0) + 1
            elif owner != school:
                found.append(Leak(school, kind, str(value), owner, what))
        self.pending = []
        self.leaks += found
        return found


def pupil_name(first: str, last: str, preferred: str | None, preferred_last: str | None) -> str:
    """As every page shows a pupil (pupils.service: preferred or legal first name, then preferred or legal last)."""
    return f"{preferred or first} {preferred_last or last}"


# Data: who the clients are, and who owns what --------------------------------------------------------------

@dataclass
class Client:
    token: str
    school_id: int
    person_id: int


async def _prepare(url: str, runs: int = 2) -> dict:
    """On the run's copy of the trust: `runs` sets of 64 signed-in members of staff who may raise on-call and see
    the board (4 at each of 16 schools spread over the trust; a set per server, so the second server's clients have
    not logged hundreds of incidents today already), each school's first room and on-call reason, and the owners of
    every pupil, pupil name, category and location."""
    import os

    import asyncpg

    from app import db
    from app.domain.accounts.service import _create_session
    from app.domain.audit.service import Origin
    from app.settings import Settings

    con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        all_schools = [r["id"] for r in await con.fetch("SELECT id FROM school ORDER BY id")]
        step = max(1, len(all_schools) // SCHOOLS)
        schools = all_schools[::step][:SCHOOLS]
        per = CLIENTS // len(schools)
        people = await con.fetch(
            "SELECT m.school, m.person, p.email FROM membership m JOIN person p ON p.id = m.person "
            "WHERE m.school = ANY($1) AND m.role = ANY($2) AND p.email LIKE 'staff%@school%.bench.example' "
            "AND EXISTS (SELECT 1 FROM membership s WHERE s.person = m.person AND s.role = 'staff') "
            "ORDER BY m.school, m.person", schools, list(RESPONDING_ROLES))
        by_school: dict[int, list] = {}
        for r in people:
            if r["person"] not in {x["person"] for x in by_school.get(r["school"], [])}:
                by_school.setdefault(r["school"], []).append(r)
        rooms = {r["school"]: r["id"] for r in await con.fetch(
            "SELECT DISTINCT ON (school) school, id FROM location WHERE retired_at IS NULL AND school = ANY($1) "
            "ORDER BY school, id", schools)}
        reasons = {r["school"]: r["id"] for r in await con.fetch(
            "SELECT DISTINCT ON (school) school, id FROM on_call_reason WHERE retired_at IS NULL AND school = ANY($1) "
            "ORDER BY school, id", schools)}
        pupils = await con.fetch("SELECT id, school, legal_first_name, legal_last_name, preferred_first_name, "
                                 "preferred_last_name FROM pupil")
        owners = {"pupil": {r["id"]: r["school"] for r in pupils},
                  "category": {r["id"]: r["school"] for r in await con.fetch("SELECT id, school FROM category")},
                  "location": {r["id"]: r["school"] for r in await con.fetch("SELECT id, school FROM location")},
                  "incident": {}, "oncall": {}}
        names: dict[str, set[int]] = {}
        for r in pupils:
            names.setdefault(pupil_name(r["legal_first_name"], r["legal_last_name"], r["preferred_first_name"],
                                        r["preferred_last_name"]), set()).add(r["school"])
    finally:
        await con.close()

    settings = Settings.from_env({**os.environ, "DATABASE_URL": url})
    engine = db.bind(url)
    await engine.start_connection_pool(min_size=1, max_size=4)
    origin = Origin(ip="127.0.0.1", device="corridor-bench")
    sets: list[list[Client]] = [[] for _ in range(runs)]
    short = []
    try:
        for sid in schools:
            staff = by_school.get(sid, [])
            if len(staff) < per * runs:
                short.append(f"school {sid}: {len(staff)} responding staff")
            for n in range(runs):
                for m in staff[n * per:(n + 1) * per] or staff[:per]:
                    token = await _create_session(settings, m["person"], m["email"], origin, "corridor-bench (trust)")
                    sets[n].append(Client(token, sid, m["person"]))
    finally:
        await engine.close_connection_pool()
    return {"schools": schools, "sets": sets, "rooms": rooms, "reasons": reasons, "owners": owners, "names": names,
            "short": short}


async def _owners_of_made(url: str, incident_ids: list[int], oncall_ids: list[int]) -> dict[str, dict[int, int]]:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return {"incident": {r["id"]: r["school"] for r in await con.fetch(
                    "SELECT id, school FROM incident WHERE id = ANY($1)", incident_ids)},
                "oncall": {r["id"]: r["school"] for r in await con.fetch(
                    "SELECT id, school FROM on_call_request WHERE id = ANY($1)", oncall_ids)}}
    finally:
        await con.close()


# The closed loop ------------------------------------------------------------------------------------------

def _server_ms(headers) -> float | None:
    m = re.search(r"dur=([\d.]+)", headers.get("server-timing", ""))
    return float(m[1]) if m else None


class Tally:
    def __init__(self) -> None:
        self.kinds: dict[str, dict] = {}
        self.flow_ms: list[float] = []  # one whole step of the part (quick entry: POST + page; on-call: raise -> board)
        self.flows = 0
        self.missing: int = 0  # on-call: the raise not on the board fetched after it
        self.undecodable: int = 0  # bodies the leak check could not read

    def add(self, kind: str, status: int | None, server: float | None, client_ms: float, error: str = "") -> None:
        k = self.kinds.setdefault(kind, {"server": [], "client": [], "statuses": {}, "errors": {}})
        if error:
            k["errors"][error] = k["errors"].get(error, 0) + 1
            return
        k["statuses"][status] = k["statuses"].get(status, 0) + 1
        k["client"].append(client_ms)
        if server is not None:
            k["server"].append(server)


async def _loop(part: str, url: str, clients: list[Client], plan: dict, seconds: float, check: LeakCheck | None,
                made: dict, cookies: tuple[str, str], csrf) -> Tally:
    """64 clients, each sending its part's next request when the last is answered, for `seconds`."""
    import aiohttp

    from bench.scenarios import incident_body, typing

    tally = Tally()
    deadline = time.perf_counter() + seconds

    def headers(c: Client, unsafe: bool, htmx: bool = False) -> dict:
        h = {"Accept": "text/html", "Accept-Encoding": "gzip, deflate",
             "Cookie": f"{cookies[0]}={c.token}"}
        if unsafe:
            pair = csrf(c.token)
            h["Cookie"] += f"; {cookies[1]}={pair[0]}"
            h["X-CSRFToken"] = pair[1]
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            h["HX-Request"] = "true"
        return h

    async def send(session, kind: str, method: str, path: str, hdrs: dict, body: str | None = None):
        t = time.perf_counter()
        try:
            async with session.request(method, url + path, data=body, headers=hdrs, allow_redirects=False) as r:
                raw = await r.read()
                tally.add(kind, r.status, _server_ms(r.headers), (time.perf_counter() - t) * 1000)
                text = _decode(raw, r.headers.get("content-encoding"))
                if text is None:  # never checked as it came: a compressed body would hide every identifier
                    tally.undecodable += 1
                    text = ""
                return r.status, r.headers.get("location", ""), text
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            tally.add(kind, None, None, 0, type(exc).__name__)
            return None, "", ""

    def checked(c: Client, text: str, what: str) -> None:
        if check is not None and text:
            check.check(c.school_id, text, what)

    async def one(session, c: Client, n: int):
        rng = random.Random(c.person_id * 7 + n)
        pupils = plan["pupils"][c.school_id]
        queries = [q for p in rng.sample(pupils, min(len(pupils), 60)) for q in typing(rng, p)]
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            if part == "lookup":
                _, _, text = await send(session, "lookup", "POST", "/pupils/search",
                                        headers(c, True, htmx=True), urlencode({"q": queries[i % len(queries)]}))
                checked(c, text, "lookup")
                tally.flows += 1
            elif part == "quick_entry":
                t0 = time.perf_counter()
                body = incident_body(plan["ctx"], _as_session(c), rng).replace("{{KEY}}", uuid.uuid4().hex)
                status, loc, text = await send(session, "incident_post", "POST", "/incidents/", headers(c, True), body)
                checked(c, text, "incident POST")
                m = re.search(r"logged=(\d+)", loc)
                if status != 303 or not m:
                    continue
                made["incident"].append(int(m[1]))
                _, _, text = await send(session, "quick_entry_page", "GET", loc, headers(c, False))
                checked(c, text, "quick entry page")
                tally.flow_ms.append((time.perf_counter() - t0) * 1000)
                tally.flows += 1
            else:  # on-call: raise (with a pupil), the board as the same member of staff, then cancel the raise
                t0 = time.perf_counter()
                form = {"idempotency_key": uuid.uuid4().hex, "location_id": plan["rooms"][c.school_id],
                        "reason_id": plan["reasons"][c.school_id], "urgency": "urgent",
                        "pupil_id": rng.choice(pupils)["id"], "note": "bench trust-scale raise"}
                status, loc, text = await send(session, "oncall_raise", "POST", "/oncall/", headers(c, True),
                                               urlencode(form))
                checked(c, text, "on-call raise")
                m = re.search(r"/oncall/(\d+)", loc)
                if status != 303 or not m:
                    continue
                rid = int(m[1])
                made["oncall"].append(rid)
                status, _, text = await send(session, "oncall_board", "GET", "/oncall/board", headers(c, False))
                checked(c, text, "on-call board")
                if status == 200:
                    tally.flow_ms.append((time.perf_counter() - t0) * 1000)
                    tally.flows += 1
                    if f'/oncall/{rid}"' not in text:
                        tally.missing += 1
                _, _, text = await send(session, "oncall_cancel", "POST", f"/oncall/{rid}/cancel", headers(c, True), "")
                checked(c, text, "on-call cancel")

    connector = aiohttp.TCPConnector(limit=len(clients) + 8, keepalive_timeout=4)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(one(session, c, n) for n, c in enumerate(clients)))
    return tally


def _decode(raw: bytes, encoding: str | None) -> str | None:
    """Bodies are asked for gzipped (as a phone gets them: the app compresses with gzip only); decompressed here for
    the leak check. None when the body cannot be read (counted as an error: it could not be checked)."""
    import gzip
    import zlib

    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in (None, "", "identity"):
            return None
    except (OSError, EOFError, zlib.error):
        return None
    return raw.decode("utf-8", "replace")


def _as_session(c: Client):
    from bench.scenarios import Session

    return Session(c.token, c.school_id, c.person_id)


def _pcts(values: list[float]) -> dict:
    return {f"p{p}": (round(v, 2) if (v := percentile(values, p)) is not None else None) for p in (50, 95, 99)} | \
        {"max": round(max(values), 2) if values else None}


def _measure(stage, server, part: str, clients: list[Client], plan: dict, seconds: float, check: LeakCheck | None,
             made: dict) -> dict:
    cpu0, db0 = server.cpu(), server.db_cpu()
    own0 = time.process_time()
    t = time.perf_counter()
    tally = asyncio.run(_loop(part, server.url, clients, plan, seconds, check, made, stage.cookies, stage.csrf))
    wall = time.perf_counter() - t
    cpu = server.cpu() - cpu0
    own = time.process_time() - own0
    db1 = server.db_cpu()
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    for kind, k in tally.kinds.items():
        for code, n in k["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
        for name, n in k["errors"].items():
            errors[name] = errors.get(name, 0) + n
    total = sum(statuses.values()) + sum(errors.values())
    ok = sum(n for code, n in statuses.items() if code < 400)
    detail = {**errors, **{f"http_{c}": n for c, n in statuses.items() if c >= 400}}
    if tally.missing:
        detail["raise_not_on_board"] = tally.missing
    if tally.undecodable:
        detail["undecodable_body"] = tally.undecodable
    every = [v for k in tally.kinds.values() for v in k["server"]]
    return {"requests": total, "seconds": round(wall, 2), "rps": round(ok / wall, 1) if wall else 0.0,
            "flows_per_s": round(tally.flows / wall, 1) if wall else 0.0, "flows": tally.flows,
            "errors": total - ok + tally.missing + tally.undecodable, "error_detail": detail, "statuses": statuses,
            "server_ms": _pcts(every), "client_ms": _pcts([v for k in tally.kinds.values() for v in k["client"]]),
            "by_kind": {kind: {"requests": sum(k["statuses"].values()), "server_ms": _pcts(k["server"]),
                               "client_ms": _pcts(k["client"])} for kind, k in tally.kinds.items()},
            "flow_ms": _pcts(tally.flow_ms) if tally.flow_ms else {},
            "cpu_ms_per_req": round(cpu * 1000 / total, 3) if total else None,
            "db_cpu_ms_per_req": round(sum(v - db0.get(p, 0.0) for p, v in db1.items()) * 1000 / total, 3)
            if total else None,
            "client_cpu_ms_per_req": round(own * 1000 / total, 3) if total else None,
            "server_cpu_share": round(cpu / wall, 2) if wall else None, "server_rss_mb": server.rss()}


def run(stage) -> list[dict]:
    """Both servers started for this row (as the `workers` row does), one process first, then `--workers 2`; per
    server and part: an idle wait, a warm-up at 64 clients (reaching every worker), an idle wait, the measured run.
    Every response of every run (warm-ups too) goes through the leak check."""
    from bench import servers

    if not servers.has_workers_option():
        return [{"status": "not available yet", "note": "`corridor serve` has no --workers option yet"}]
    plan = asyncio.run(_prepare(stage.url))
    plan["ctx"] = stage.ctx
    plan["pupils"] = stage.ctx.pupils
    missing = [s for s in plan["schools"] if s not in plan["rooms"] or s not in plan["reasons"]
               or not stage.ctx.categories.get(s)]
    if missing or any(len(s) < CLIENTS for s in plan["sets"]):
        return [{"status": "harness error", "note": f"schools without rooms/reasons/categories {missing}; "
                                                    f"{'; '.join(plan['short'])}"}]
    check = LeakCheck(plan["owners"], plan["names"])
    made: dict[str, list[int]] = {"incident": [], "oncall": []}
    seconds, warmup = stage.extra.get("seconds", 10), stage.extra.get("warmup", 3)
    results: dict[int, dict[str, dict]] = {}
    for n_set, workers in enumerate((1, 2)):
        clients = plan["sets"][n_set]
        server = servers.corridor(f"corridor-trust-{workers}w", stage.env | {"DATABASE_URL": stage.url,
                                                                            "LIVE_BACKEND": "postgres"},
                                  stage.logs, workers=workers)
        server.start()
        results[workers] = {}
        try:
            for part in PARTS:
                server.wait_idle()
                before = server.worker_cpu()
                if warmup > 0:
                    asyncio.run(_loop(part, server.url, clients, plan, warmup, check, made, stage.cookies, stage.csrf))
                after = server.worker_cpu()
                reached = sum(1 for pid, t in after.items() if t > before.get(pid, 0.0))
                idle = server.wait_idle()
                m = _measure(stage, server, part, clients, plan, seconds, check, made)
                m.update(workers_reached=reached, workers_seen=len(after), idle_wait_s=idle)
                results[workers][part] = m
        finally:
            server.stop()
            stage.extra[f"trust_scale_tracebacks_{workers}w"] = server.log(400).count("Traceback")
    check.resolve(asyncio.run(_owners_of_made(stage.url, made["incident"], made["oncall"])))

    rows = []
    schools = plan["schools"]
    who = f"{CLIENTS} clients: 4 staff at each of {len(schools)} schools"
    for part in PARTS:
        one, two = results[1][part], results[2][part]
        ratio = round(two["rps"] / one["rps"], 2) if one["rps"] else None
        lookup_p99 = two["by_kind"].get("lookup", {}).get("server_ms", {}).get("p99")
        row = {"scenario": f"trust_scale.{part}", "title": TITLES[part], "concurrency": CLIENTS, "status": "measured",
               **{k: two[k] for k in ("requests", "rps", "errors", "error_detail", "statuses", "server_ms",
                                      "client_ms", "cpu_ms_per_req", "by_kind")},
               "worker_ratio": ratio, "one_worker": one, "two_workers": two, "no_floor": True,
               "server_workers": 2, "schools": schools, "leaks": len([x for x in check.leaks
                                                                        if _part_of(x.what) == part])}
        if part == "oncall_board":
            row["e2e_ms"] = two["flow_ms"]  # raise -> board (POST start to the board read, the card on it)
        if lookup_p99 is not None:
            row["lookup_p99"] = lookup_p99
        extra = {"lookup": "", "quick_entry": f"; {two['flows_per_s']:.0f} entries/s",
                 "oncall_board": f"; raise->board p50/p95 {_f(two['flow_ms'].get('p50'))}/"
                                 f"{_f(two['flow_ms'].get('p95'))} ms (1 worker {_f(one['flow_ms'].get('p95'))})"}[part]
        kinds = "; ".join(f"{k} p50/p99 {_f(v['server_ms']['p50'])}/{_f(v['server_ms']['p99'])}"
                          for k, v in two["by_kind"].items()) if len(two["by_kind"]) > 1 else ""
        row["summary"] = (f"--workers 2: {two['rps']:.0f} req/s, CPU {_f(two['cpu_ms_per_req'])} ms/req "
                          f"(PostgreSQL {_f(two['db_cpu_ms_per_req'])}); 1 worker: {one['rps']:.0f} req/s, CPU "
                          f"{_f(one['cpu_ms_per_req'])} ms/req, server p99 {_f(one['server_ms']['p99'])} ms: "
                          f"{ratio}×{extra}" + (f"; {kinds}" if kinds else "") +
                          f"; {who}; workers reached {two['workers_reached']} of {two['workers_seen']}; load client "
                          f"CPU {_f(two['client_cpu_ms_per_req'])} ms/req")
        if row["leaks"]:
            row["summary"] = f"LEAK: {row['leaks']} identifiers of another school (see the isolation row). " + \
                row["summary"]
        rows.append(row)
    rows.append(isolation_row(check, schools))
    return rows


def isolation_row(check: LeakCheck, schools: list[int]) -> dict:
    """The row that says whether any response carried another school's rows; LEAK, with examples, if one did."""
    leaks = check.leaks
    summary = (f"{check.checked:,} responses checked ({check.ids_seen:,} identifiers) for {len(schools)} schools, "
               f"both servers, warm-ups included: {len(leaks)} leaks")
    if check.unknown:
        summary += "; identifiers with no owner found: " + ", ".join(f"{k} {v}" for k, v in check.unknown.items())
    if leaks:
        summary = f"LEAK: {len(leaks)} identifiers of another school in the responses, e.g. " + \
            "; ".join(map(str, leaks[:3])) + ". " + summary
    return {"scenario": "trust_scale.isolation", "title": TITLES["isolation"], "concurrency": CLIENTS,
            "status": "measured", "requests": check.checked, "rps": None, "errors": len(leaks), "error_detail": {},
            "statuses": {}, "server_ms": {}, "client_ms": {}, "cpu_ms_per_req": None, "leaks": len(leaks),
            "checked": check.checked, "identifiers": check.ids_seen, "unknown": check.unknown,
            "leak_examples": [str(x) for x in leaks[:20]], "no_floor": True, "summary": summary}


def _part_of(what: str) -> str:
    return "lookup" if what == "lookup" else "oncall_board" if what.startswith("on-call") else "quick_entry"


def _f(v) -> str:
    return "-" if v is None else (f"{v:.1f}" if v >= 10 else f"{v:.2f}")
