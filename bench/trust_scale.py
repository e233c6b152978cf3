"""Trust scale (issue 17, point 7): the 75,000-pupil, 90-school trust on PostgreSQL, served by `corridor serve
--workers 2` and, in the same run, by one process: pupil lookup, quick entry (the incident POST and the page it
redirects to) and the on-call board (raise -> board -> cancel) at 64 clients, 4 members of staff at each of 16
schools, every response checked for another school's rows.

The load is wrk (`bench/wrk/trust.lua`), closed loop: `wrk -t64 -c64`, one connection per wrk thread and each thread
one member of staff at one school, with its own Lua state, so `response()` knows whose response it reads. Each
thread goes round its part's steps (a quick entry's page is the one its POST's 303 names; an on-call round cancels
the raise it made), reads every response's identifiers with Lua patterns and keeps each distinct one with how many
responses carried it; it times each request (and raise -> board) with a monotonic clock and reads Server-Timing.
wrk runs in its own process (its CPU per request is in the row, apart from the server's); the harness's Python
process only prepares and reads the results.

The leak check (`LeakCheck`) judges the identifiers the threads found: pupil ids (links, data-pupil-id, pupil_id
inputs), pupil names (`class="pupil-name"`), category and location ids (the quick-entry form's choices), incident
and on-call request ids (links), and staff names (the bench's staff are "Staff N (school S)"). Each is looked up
in the owners read from the database at the start (pupils, categories, locations) or, for records made during the
run (incidents, on-call requests), at the end; an identifier owned by another school is a LEAK. A pupil name is a
leak only when no pupil of the client's school has that name and a pupil of another school has (names repeat
across 75,000 synthetic pupils). tests/platform/test_bench_leak_check.py runs the Lua script against a local server
answering with another school's rows.
"""

from __future__ import annotations

import html
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.load import percentile

LUA = Path(__file__).resolve().parent / "wrk" / "trust.lua"
PARTS = ("lookup", "quick_entry", "oncall_board")
TITLES = {"lookup": "Trust scale: pupil lookup",
          "quick_entry": "Trust scale: quick entry (POST + page)",
          "oncall_board": "Trust scale: on-call raise -> board",
          "isolation": "Trust scale: no school sees another's rows"}
CLIENTS = 64
SCHOOLS = 16  # at least ten schools; 64 clients = 4 members of staff at each of 16
RESPONDING_ROLES = ("responder", "pastoral", "head_of_year", "dsl")  # on-call: may raise (staff) and see the board
BODIES = 100  # form bodies per client (quick entry, on-call), sent in turn, each with a fresh idempotency key
SEP = "\x1f"


# The leak check -----------------------------------------------------------------------------------------

DEFERRED = ("incident", "oncall")  # made during the run: owners of every such id seen are read at the end


@dataclass
class Leak:
    school: int  # the school whose member of staff received the response
    kind: str  # pupil, pupil_name, incident, oncall, category, location, staff
    value: str
    owner: int | str  # the school that owns it (for a name: the schools with a pupil of that name)
    what: str = ""  # which request
    count: int = 1  # how many responses to this member of staff's `what` carried it

    def __str__(self) -> str:
        times = f" ({self.count} responses)" if self.count > 1 else ""
        return f"{self.what or 'response'} for school {self.school} carried {self.kind} {self.value} of school " \
               f"{self.owner}{times}"


@dataclass
class LeakCheck:
    """Owners of every identifier a response may carry; `absorb` what a wrk thread found in its responses, with
    the school it was sending for."""

    owners: dict[str, dict[int, int]]  # kind -> {id: school}; pupil, category, location, incident, oncall
    names: dict[str, set[int]] = field(default_factory=dict)  # pupil display name -> schools with such a pupil
    checked: int = 0  # responses read
    ids_seen: int = 0  # identifiers read (each distinct one once per response)
    leaks: list[Leak] = field(default_factory=list)
    unknown: dict[str, int] = field(default_factory=dict)  # identifiers no owner was found for (by kind)
    pending: list[tuple[int, str, int, str, int]] = field(default_factory=list)  # (school, kind, id, what, count)

    @property
    def leak_count(self) -> int:
        """Identifiers of another school in the responses (each counted once per response that carried it)."""
        return sum(x.count for x in self.leaks)

    def absorb(self, school: int, found: dict[str, int], checked: int = 0, ids: int = 0) -> list[Leak]:
        """The leaks among what one thread found: `found` is {"what\tkind\tvalue": responses}, as trust.lua keeps
        it; `checked` and `ids` are its counts of responses and identifiers read. Incident and on-call ids (records
        made during the run) whose owner is not known yet are kept for `resolve`."""
        self.checked += checked
        self.ids_seen += ids
        out: list[Leak] = []
        for key, count in found.items():
            what, kind, raw = key.split("\t", 2)
            if kind == "pupil_name":
                name = html.unescape(raw).strip()
                schools = self.names.get(name)
                if schools is None:
                    self.unknown["pupil_name"] = self.unknown.get("pupil_name", 0) + count
                elif school not in schools:
                    out.append(Leak(school, "pupil_name", name, ",".join(map(str, sorted(schools))), what, count))
                continue
            value = int(raw)
            owner = value if kind == "staff" else self.owners.get(kind, {}).get(value)
            if owner is None:
                if kind in DEFERRED:
                    self.pending.append((school, kind, value, what, count))
                else:
                    self.unknown[kind] = self.unknown.get(kind, 0) + count
            elif owner != school:
                out.append(Leak(school, kind, str(value), owner, what, count))
        self.leaks += out
        return out

    def resolve(self, owners: dict[str, dict[int, int]]) -> list[Leak]:
        """Check the ids kept for later against owners read at the end (run() reads the owner of every one)."""
        out = []
        for school, kind, value, what, count in self.pending:
            owner = owners.get(kind, {}).get(value, self.owners.get(kind, {}).get(value))
            if owner is None:
                self.unknown[kind] = self.unknown.get(kind, 0) + count
            elif owner != school:
                out.append(Leak(school, kind, str(value), owner, what, count))
        self.pending = []
        self.leaks += out
        return out


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


async def _owners_of(url: str, incident_ids: list[int], oncall_ids: list[int]) -> dict[str, dict[int, int]]:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return {"incident": {r["id"]: r["school"] for r in await con.fetch(
                    "SELECT id, school FROM incident WHERE id = ANY($1)", incident_ids)},
                "oncall": {r["id"]: r["school"] for r in await con.fetch(
                    "SELECT id, school FROM on_call_request WHERE id = ANY($1)", oncall_ids)}}
    finally:
        await con.close()


NOTE = "bench trust-scale raise"


async def _open_raises(url: str, people: list[int]) -> list[tuple[int, int]]:
    import asyncpg

    from app.domain.oncall.service import OPEN_STATES

    con = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return [(r["id"], r["requester"]) for r in await con.fetch(
            "SELECT id, requester FROM on_call_request WHERE requester = ANY($1) AND state = ANY($2) AND note = $3",
            people, list(OPEN_STATES), NOTE)]
    finally:
        await con.close()


def _cancel_left_open(stage, server, clients: list[Client]) -> int:
    """Raises whose 303 wrk never read (in flight when it stopped) stay open on their school's board and would
    lengthen it run after run: cancelled here, between runs, once the server is idle, by their requester through
    the app (the answer is a 303 with no body; 409 if it was closed meanwhile). Returns how many were cancelled."""
    import asyncio

    import httpx

    server.wait_idle()  # requests wrk left in flight (a cancel among them) are finished first
    by_person = {c.person_id: c for c in clients}
    cancelled = 0
    for rid, person in asyncio.run(_open_raises(stage.url, list(by_person))):
        token = by_person[person].token
        pair = stage.csrf(token)
        r = httpx.post(f"{server.url}/oncall/{rid}/cancel", timeout=30, headers={
            "Cookie": f"{stage.cookies[0]}={token}; {stage.cookies[1]}={pair[0]}", "X-CSRFToken": pair[1]})
        if r.status_code not in (303, 409):
            raise RuntimeError(f"cancelling on-call request {rid} left open: HTTP {r.status_code}")
        cancelled += r.status_code == 303
    return cancelled


# The load: wrk, one thread per client ---------------------------------------------------------------------

def write_spec(path: Path, part: str, clients: list[Client], plan: dict, cookies: tuple[str, str], csrf) -> None:
    """trust.lua's BENCH_SPEC: a line per client (school, Cookie header, CSRF token, the bodies it sends in turn).
    lookup: what someone types to find 60 of the school's pupils; quick entry: the form as the page posts it (1-2
    pupils, a category, a room); on-call: an urgent raise from the school's first room with one of its pupils."""
    from bench.scenarios import KEY, Session, incident_body, typing

    lines = []
    for n, c in enumerate(clients):
        rng = random.Random(c.person_id * 7 + n)
        pupils = plan["pupils"][c.school_id]
        if part == "lookup":
            bodies = [urlencode({"q": q}) for p in rng.sample(pupils, min(len(pupils), 60)) for q in typing(rng, p)]
        elif part == "quick_entry":
            who = Session(c.token, c.school_id, c.person_id)
            bodies = [incident_body(plan["ctx"], who, rng) for _ in range(BODIES)]
        else:
            bodies = [urlencode({"idempotency_key": KEY, "location_id": plan["rooms"][c.school_id],
                                 "reason_id": plan["reasons"][c.school_id], "urgency": "urgent",
                                 "pupil_id": rng.choice(pupils)["id"], "note": NOTE}
                                ).replace("%7B%7BKEY%7D%7D", KEY) for _ in range(BODIES)]
        pair = csrf(c.token)
        fields = [str(c.school_id), f"{cookies[0]}={c.token}; {cookies[1]}={pair[0]}", pair[1], SEP.join(bodies)]
        if any(ch in f for f in fields for ch in "\t\n\r") or any(SEP in f for f in fields[:3]):
            raise ValueError(f"spec field with a tab, newline or separator: {fields[:3]!r}")
        lines.append("\t".join(fields))
    path.write_text("\n".join(lines) + "\n")


def drive(url: str, part: str, clients: list[Client], plan: dict, seconds: float, check: LeakCheck,
          cookies: tuple[str, str], csrf, var: Path, tag: str, timeout_s: int = 30) -> dict:
    """One wrk run of one part (`wrk -tN -cN`, N = len(clients)); what its threads found goes through `check`.
    Returns the run's tallies, merged over the threads."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed")
    var.mkdir(parents=True, exist_ok=True)
    spec, out = var / f"trust-{tag}.tsv", var / f"trust-{tag}.json"
    write_spec(spec, part, clients, plan, cookies, csrf)
    out.unlink(missing_ok=True)
    n = len(clients)
    cmd = ["wrk", f"-t{n}", f"-c{n}", f"-d{max(1, round(seconds))}s", "--timeout", f"{timeout_s}s", "-s", str(LUA),
           url]
    env = {"BENCH_SPEC": str(spec), "BENCH_PART": part, "BENCH_OUT": str(out), "PATH": "/usr/bin:/bin",
           "BENCH_NONCE": secrets.token_hex(6)}  # idempotency keys never repeat across runs
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + timeout_s + 60, check=False)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not out.exists():
        raise RuntimeError(f"wrk wrote no results (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(out.read_text(errors="replace"))
    kinds: dict[str, dict] = {}
    flow_ms: list[float] = []
    t = {"flows": 0, "missing": 0, "undecodable": 0, "unanswered": 0}
    for th in data["threads"]:
        check.absorb(th["school"], th["found"] or {}, th["checked"], th["ids"])
        flow_ms += th["flow_ms"] or []
        for name in t:
            t[name] += th[name]
        for kind, sts in (th["statuses"] or {}).items():
            k = kinds.setdefault(kind, {"server": [], "client": [], "statuses": {}})
            for code, count in sts.items():
                k["statuses"][int(code)] = k["statuses"].get(int(code), 0) + count
            k["server"] += (th["server_ms"] or {}).get(kind, [])
            k["client"] += (th["client_ms"] or {}).get(kind, [])
    return {"kinds": kinds, "flow_ms": flow_ms, **t, "wrk_errors": data["errors"], "zlib": data["zlib"],
            "seconds": data["duration_us"] / 1e6,
            "client_cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)}


def _pcts(values: list[float]) -> dict:
    return {f"p{p}": (round(v, 2) if (v := percentile(values, p)) is not None else None) for p in (50, 95, 99)} | \
        {"max": round(max(values), 2) if values else None}


def _measure(stage, server, part: str, clients: list[Client], plan: dict, seconds: float, check: LeakCheck,
             tag: str) -> dict:
    cpu0, db0 = server.cpu(), server.db_cpu()
    tally = drive(server.url, part, clients, plan, seconds, check, stage.cookies, stage.csrf, stage.var, tag)
    cpu = server.cpu() - cpu0
    db1 = server.db_cpu()
    wall = tally["seconds"]
    statuses: dict[int, int] = {}
    for k in tally["kinds"].values():
        for code, n in k["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    socket = {name: n for name, n in tally["wrk_errors"].items() if n and name != "status"}
    total = sum(statuses.values()) + tally["unanswered"]
    ok = sum(n for code, n in statuses.items() if code < 400)
    detail = {**socket, **{f"http_{c}": n for c, n in statuses.items() if c >= 400}}
    for name, label in (("missing", "raise_not_on_board"), ("undecodable", "undecodable_body"),
                        ("unanswered", "unanswered")):
        if tally[name]:
            detail[label] = tally[name]
    if not tally["zlib"]:  # every gzipped body is then undecodable (an error), never passed over
        detail["zlib_not_loaded_in_wrk"] = 1
    every = [v for k in tally["kinds"].values() for v in k["server"]]
    return {"requests": total, "seconds": round(wall, 2), "rps": round(ok / wall, 1) if wall else 0.0,
            "flows_per_s": round(tally["flows"] / wall, 1) if wall else 0.0, "flows": tally["flows"],
            "errors": total - ok + sum(socket.values()) + tally["missing"] + tally["undecodable"],
            "error_detail": detail, "statuses": statuses,
            "server_ms": _pcts(every), "client_ms": _pcts([v for k in tally["kinds"].values() for v in k["client"]]),
            "by_kind": {kind: {"requests": sum(k["statuses"].values()), "server_ms": _pcts(k["server"]),
                               "client_ms": _pcts(k["client"])} for kind, k in tally["kinds"].items()},
            "flow_ms": _pcts(tally["flow_ms"]) if tally["flow_ms"] else {},
            "cpu_ms_per_req": round(cpu * 1000 / total, 3) if total else None,
            "db_cpu_ms_per_req": round(sum(v - db0.get(p, 0.0) for p, v in db1.items()) * 1000 / total, 3)
            if total else None,
            "client_cpu_ms_per_req": round(tally["client_cpu_s"] * 1000 / total, 3) if total else None,
            "server_cpu_share": round(cpu / wall, 2) if wall else None, "server_rss_mb": server.rss()}


def run(stage) -> list[dict]:
    """Both servers started for this row (as the `workers` row does), one process first, then `--workers 2`; per
    server and part: an idle wait, a warm-up at 64 clients (repeated, up to 3 times, until it has reached every
    worker), an idle wait, the measured run. Every response of every run (warm-ups too) goes through the leak
    check."""
    import asyncio

    from bench import servers

    if not servers.has_workers_option():
        return [{"status": "not available yet", "note": "`corridor serve` has no --workers option yet"}]
    if not shutil.which("wrk"):
        return [{"status": "harness error", "note": "wrk is not installed"}]
    plan = asyncio.run(_prepare(stage.url))
    plan["ctx"] = stage.ctx
    plan["pupils"] = stage.ctx.pupils
    missing = [s for s in plan["schools"] if s not in plan["rooms"] or s not in plan["reasons"]
               or not stage.ctx.categories.get(s)]
    if missing or any(len(s) < CLIENTS for s in plan["sets"]):
        return [{"status": "harness error", "note": f"schools without rooms/reasons/categories {missing}; "
                                                    f"{'; '.join(plan['short'])}"}]
    check = LeakCheck(plan["owners"], plan["names"])
    seconds, warmup = stage.extra.get("seconds", 10), stage.extra.get("warmup", 3)
    results: dict[int, dict[str, dict]] = {}
    left_open = 0
    for n_set, workers in enumerate((1, 2)):
        clients = plan["sets"][n_set]
        server = servers.corridor(f"corridor-trust-{workers}w", stage.env | {"DATABASE_URL": stage.url,
                                                                            "LIVE_BACKEND": "postgres"},
                                  stage.logs, workers=workers)
        server.start()
        results[workers] = {}
        try:
            for part in PARTS:
                tag = f"{part}-{workers}w"
                server.wait_idle()
                before = server.worker_cpu()
                reached, after = 0, before
                for _ in range(3 if warmup > 0 else 0):  # a keep-alive connection stays with the worker it reached
                    drive(server.url, part, clients, plan, warmup, check, stage.cookies, stage.csrf, stage.var,
                          f"{tag}-warm")
                    if part == "oncall_board":
                        left_open += _cancel_left_open(stage, server, clients)
                    after = server.worker_cpu()
                    reached = sum(1 for pid, t in after.items() if t > before.get(pid, 0.0))
                    if reached >= workers:
                        break
                idle = server.wait_idle()
                m = _measure(stage, server, part, clients, plan, seconds, check, tag)
                if part == "oncall_board":
                    left_open += _cancel_left_open(stage, server, clients)
                m.update(workers_reached=reached, workers_seen=len(after), idle_wait_s=idle)
                results[workers][part] = m
        finally:
            server.stop()
            stage.extra[f"trust_scale_tracebacks_{workers}w"] = server.log(400).count("Traceback")
    seen = {kind: sorted({v for _, k, v, _, _ in check.pending if k == kind}) for kind in DEFERRED}
    check.resolve(asyncio.run(_owners_of(stage.url, seen["incident"], seen["oncall"])))

    rows = []
    schools = plan["schools"]
    who = f"{CLIENTS} clients (wrk -t{CLIENTS} -c{CLIENTS}): 4 staff at each of {len(schools)} schools"
    for part in PARTS:
        one, two = results[1][part], results[2][part]
        ratio = round(two["rps"] / one["rps"], 2) if one["rps"] else None
        lookup_p99 = two["by_kind"].get("lookup", {}).get("server_ms", {}).get("p99")
        row = {"scenario": f"trust_scale.{part}", "title": TITLES[part], "concurrency": CLIENTS, "status": "measured",
               **{k: two[k] for k in ("requests", "rps", "errors", "error_detail", "statuses", "server_ms",
                                      "client_ms", "cpu_ms_per_req", "by_kind")},
               "worker_ratio": ratio, "one_worker": one, "two_workers": two, "no_floor": True,
               "server_workers": 2, "schools": schools, "load_tool": "wrk (bench/wrk/trust.lua)",
               "leaks": sum(x.count for x in check.leaks if _part_of(x.what) == part)}
        if part == "oncall_board":
            row["e2e_ms"] = two["flow_ms"]  # raise -> board (POST start to the board read, the card on it)
            row["left_open_cancelled"] = left_open
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
                          f"; {who}; workers reached {two['workers_reached']} of {two['workers_seen']}; wrk CPU "
                          f"{_f(two['client_cpu_ms_per_req'])} ms/req")
        ceiling = machine_ceiling(two, one["rps"])
        if ceiling:
            row["machine_ceiling"] = ceiling
            row["summary"] += (f"; this machine's ceiling for two workers: {ceiling['rps']:.0f} req/s, "
                               f"{ceiling['ratio']}× one worker, so a mean round trip of at least "
                               f"{ceiling['mean_round_trip_ms']} ms at {CLIENTS} clients")
        if row["leaks"]:
            row["summary"] = f"LEAK: {row['leaks']} identifiers of another school (see the isolation row). " + \
                row["summary"]
        rows.append(row)
    rows.append(isolation_row(check, schools))
    return rows


def machine_ceiling(two: dict, one_rps: float) -> dict | None:
    """What two workers could serve at most on this machine, and that as a ratio to one worker in the same run: its
    cores divided by the CPU each request took of the workers, PostgreSQL and wrk together (all three share the
    cores here). When one worker already uses a core, a 2w/1w ratio under 1.7x that is at this ceiling is the
    machine's, not the workers'; only a load generator and a database on other cores would show more."""
    per_request = [two.get(k) for k in ("cpu_ms_per_req", "db_cpu_ms_per_req", "client_cpu_ms_per_req")]
    if not one_rps or any(v is None for v in per_request) or sum(per_request) <= 0:
        return None
    rps = (os.cpu_count() or 1) * 1000 / sum(per_request)
    # Little's law for a closed loop with no think time: clients = throughput x mean round trip, so at this
    # ceiling the mean round trip of a request cannot be under clients / ceiling, however the app is written.
    return {"rps": round(rps), "ratio": round(rps / one_rps, 2), "cpu_ms_per_req": round(sum(per_request), 3),
            "cores": os.cpu_count(), "mean_round_trip_ms": round(CLIENTS * 1000 / rps, 1)}


def isolation_row(check: LeakCheck, schools: list[int]) -> dict:
    """The row that says whether any response carried another school's rows; LEAK, with examples, if one did."""
    leaks, count = check.leaks, check.leak_count
    summary = (f"{check.checked:,} responses checked ({check.ids_seen:,} identifiers) for {len(schools)} schools, "
               f"both servers, warm-ups included: {count} leaks")
    if check.unknown:
        summary += "; identifiers with no owner found: " + ", ".join(f"{k} {v}" for k, v in check.unknown.items())
    if leaks:
        summary = f"LEAK: {count} identifiers of another school in the responses, e.g. " + \
            "; ".join(map(str, leaks[:3])) + ". " + summary
    return {"scenario": "trust_scale.isolation", "title": TITLES["isolation"], "concurrency": CLIENTS,
            "status": "measured", "requests": check.checked, "rps": None, "errors": count, "error_detail": {},
            "statuses": {}, "server_ms": {}, "client_ms": {}, "cpu_ms_per_req": None, "leaks": count,
            "checked": check.checked, "identifiers": check.ids_seen, "unknown": check.unknown,
            "leak_examples": [str(x) for x in leaks[:20]], "no_floor": True, "summary": summary}


def _part_of(what: str) -> str:
    return "lookup" if what == "lookup" else "oncall_board" if what.startswith("on-call") else "quick_entry"


def _f(v) -> str:
    return "-" if v is None else (f"{v:.1f}" if v >= 10 else f"{v:.2f}")
