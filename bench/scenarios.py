"""The scenarios. Adding one is one small function: decorate it with @scenario and return its request plan.

A plan is a list of `Req`; wrk replays it in order, round and round, over `concurrency` connections. The
harness first sends the plan's first request once: a 404 means the route does not exist yet, and the
scenario is reported as "not available yet" (never faked). A feature not started is declared with
`not_built(...)`, so the table shows the gap with its budget.

Each plan function gets a `Ctx`: the data set's name, signed-in sessions (one per member of staff used,
each at one school) and a sample of each school's pupils, plus a seeded random generator.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.load import Req

HTML = (("Accept", "text/html"),)
HTMX = (("Accept", "text/html"), ("HX-Request", "true"))


@dataclass
class Session:
    token: str
    school_id: int
    person_id: int


@dataclass
class Ctx:
    dataset: str
    sessions: list[Session]
    pupils: dict[int, list[dict]]  # school id -> sample of its pupils (id, first, last, preferred, form)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    categories: dict[int, list[int]] = field(default_factory=dict)  # school id -> negative category ids
    locations: dict[int, list[int]] = field(default_factory=dict)  # school id -> location ids
    pastoral: list[Session] = field(default_factory=list)  # one pastoral member of staff per school
    all_staff: list[Session] = field(default_factory=list)  # 250 members of staff (school: all of the first school's)
    hoy: list[Session] = field(default_factory=list)  # the head of year with 2,000 open items (bench/data.py)
    chronology_pupil: int | None = None  # the first school's pupil with ~300 chronology events (bench/data.py)


@dataclass
class Scenario:
    key: str
    title: str
    datasets: tuple[str, ...]
    concurrency: tuple[int, ...]
    plan: Callable[[Ctx], list[Req]] | None  # None: not built yet (unless `run` is set)
    note: str = ""
    run: Callable | None = None  # a scenario wrk cannot drive: an asyncio client (bench/clients.py)

    @property
    def built(self) -> bool:
        return self.plan is not None or self.run is not None


SCENARIOS: list[Scenario] = []


def scenario(key: str, title: str, *, datasets: tuple[str, ...] = ("school", "trust"),
             concurrency: tuple[int, ...] = (1, 64)):
    def register(fn: Callable[[Ctx], list[Req]]):
        SCENARIOS.append(Scenario(key, title, datasets, concurrency, fn, (fn.__doc__ or "").strip()))
        return fn
    return register


def custom(key: str, title: str, *, datasets: tuple[str, ...], concurrency: tuple[int, ...]):
    """A scenario with its own client (SSE, bursts, a CLI-sized job): `fn(stage) -> list of rows`."""
    def register(fn: Callable):
        SCENARIOS.append(Scenario(key, title, datasets, concurrency, None, (fn.__doc__ or "").strip(), run=fn))
        return fn
    return register


def not_built(key: str, title: str, note: str, *, datasets: tuple[str, ...] = ("school", "trust"),
              concurrency: tuple[int, ...] = (1, 64)) -> None:
    SCENARIOS.append(Scenario(key, title, datasets, concurrency, None, note))


def interleave(ctx: Ctx, per_session: Callable[[Session, list[dict]], list[Req]], length: int = 2000) -> list[Req]:
    """Round-robin the sessions' own request streams, so consecutive requests come from different schools."""
    streams = [per_session(s, ctx.pupils[s.school_id]) for s in ctx.sessions]
    out: list[Req] = []
    i = 0
    while len(out) < length and any(streams):
        stream = streams[i % len(streams)]
        if stream:
            out.append(stream[(i // len(streams)) % len(stream)])
        i += 1
    return out


# Scenarios ----------------------------------------------------------------------------------------------

@scenario("home", "Home screen (signed in)")
def home(ctx: Ctx) -> list[Req]:
    """GET / with a session: the cost of a signed-in page with no pupil data (session, roles, template)."""
    return [Req("GET", "/", session=s.token, headers=HTML) for s in ctx.sessions]


def typing(rng: random.Random, pupil: dict) -> list[str]:
    """What someone types to find this pupil, as htmx sends it (150 ms debounce: not every keystroke)."""
    first = pupil["preferred"] or pupil["first"]
    last = pupil["last"]
    style = rng.random()
    if style < 0.45:  # the surname
        return [last[:2], last[:4], last][: 3 if len(last) > 4 else 2]
    if style < 0.8:  # first name, then the start of the surname
        return [first[:3], f"{first} {last[:1]}", f"{first} {last[:3]}"]
    if style < 0.9 and len(last) >= 5:  # a typo in the surname
        k = rng.randrange(1, len(last) - 1)
        return [last[:3], last[:k] + last[k + 1] + last[k] + last[k + 2:]]
    return [pupil["form"] or last[:3], f"{pupil['form']} {first[:2]}".strip()]  # "9C", "9C am"


@scenario("lookup", "Pupil lookup (typeahead)")
def lookup(ctx: Ctx) -> list[Req]:
    """POST /pupils/search as htmx sends it while someone types (form field q, X-CSRFToken, HX-Request)."""
    def stream(s: Session, pupils: list[dict]) -> list[Req]:
        rng = random.Random(s.school_id * 31 + s.person_id)
        return [Req("POST", "/pupils/search", urlencode({"q": q}), s.token, HTMX)
                for p in rng.sample(pupils, min(len(pupils), 120)) for q in typing(rng, p)]
    return interleave(ctx, stream)


@scenario("profile", "Pupil profile open")
def profile(ctx: Ctx) -> list[Req]:
    """GET /pupils/{id}: the whole profile page for a responder (contacts shown); each view is audited."""
    def stream(s: Session, pupils: list[dict]) -> list[Req]:
        rng = random.Random(s.school_id * 17 + s.person_id)
        return [Req("GET", f"/pupils/{p['id']}", session=s.token, headers=HTML)
                for p in rng.sample(pupils, min(len(pupils), 200))]
    return interleave(ctx, stream)


@scenario("follow_up_list", "Follow-up list (head of year, 2,000 open)")
def follow_up_list(ctx: Ctx) -> list[Req]:
    """GET /incidents/follow-up (its first page) as the head of year whose years have 2,000 open or in-progress
    behaviour items (bench/data.py, HOY_OPEN), at the first school of the data set."""
    return [Req("GET", "/incidents/follow-up", session=s.token, headers=HTML) for s in ctx.hoy]

@scenario("caseload", "Caseload page (pastoral officer, 30 cases)", datasets=("school",), concurrency=(1,))
def caseload(ctx: Ctx) -> list[Req]:
    """GET /casework/ as the first school's pastoral officer, who holds 30 open cases of the school's 182
    (bench/data.py, CASELOAD): their overdue, due-soon and own lists."""
    return [Req("GET", "/casework/", session=s.token, headers=HTML) for s in ctx.pastoral[:1]]


@scenario("chronology", "A pupil's chronology (300 events)", datasets=("school",), concurrency=(1,))
def chronology(ctx: Ctx) -> list[Req]:
    """GET /chronology/pupil/{id} as the pastoral officer, for the pupil with ~300 entries they may see (incidents,
    contacts, referral changes, interventions, cases and reviews, on-call: bench/data.py); each view audited."""
    if ctx.chronology_pupil is None or not ctx.pastoral:
        return [Req("GET", "/chronology/pupil/0", session=ctx.sessions[0].token, headers=HTML)]
    return [Req("GET", f"/chronology/pupil/{ctx.chronology_pupil}", session=s.token, headers=HTML)
            for s in ctx.pastoral[:1]]


@scenario("data_review", "Data review page (a year group, the year so far)", concurrency=(1,))
def data_review(ctx: Ctx) -> list[Req]:
    """GET /data-review/ as the first school's pastoral officer: the first year group from 1 September to today
    (incidents by category, place, hour x weekday and week; attendance; rewards by form). The figures are computed
    once per data version (the harness's first request pays for it) and read from the cache after."""
    return [Req("GET", "/data-review/", session=s.token, headers=HTML) for s in ctx.pastoral[:1]]


# (The follow-up list comes before the writes: incident POSTs add open items to it.)


KEY = "{{KEY}}"  # plan.lua puts a fresh idempotency key here in every request it sends


def incident_body(ctx: Ctx, s: Session, rng: random.Random, note: str = "Shouting across the corridor") -> str:
    """The quick-entry form as the page posts it: 1-2 pupils with their roles, a category, a location, a note."""
    pupils = rng.sample(ctx.pupils[s.school_id], rng.choice((1, 1, 2)))
    fields = [("idempotency_key", KEY)]
    for i, p in enumerate(pupils):
        fields += [("pupil_id", p["id"]), ("role", "instigator" if i == 0 else "target")]
    fields += [("category_id", rng.choice(ctx.categories[s.school_id])),
               ("location_id", rng.choice(ctx.locations[s.school_id])), ("note", note)]
    return urlencode(fields).replace("%7B%7BKEY%7D%7D", KEY)


@scenario("incident_post", "Incident POST (durable)")
def incident_post(ctx: Ctx) -> list[Req]:
    """POST /incidents/ (the quick-entry form, a fresh idempotency key each time): committed before the 303."""
    def stream(s: Session, pupils: list[dict]) -> list[Req]:
        rng = random.Random(s.school_id * 13 + s.person_id)
        return [Req("POST", "/incidents/", incident_body(ctx, s, rng), s.token, HTML) for _ in range(100)]
    return interleave(ctx, stream)


@custom("mixed", "Lookups + incident POSTs (paced, 1 write in 10)", datasets=("school", "trust"), concurrency=(0,))
def mixed(stage) -> list[dict]:
    """Open loop at one school: 25 lookups a second and 2.8 incident POSTs a second (one request in ten is a
    write), sent on a fixed schedule whatever the answers; lookup and write server times apart. A write that
    invalidates the lookup index shows here as slow lookups."""
    from bench import clients

    return clients.paced_scenario(stage, {"lookup": 25, "incident_post": 25 / 9})


@custom("peak", "A school's peak (paced: 50 lookups, 10 POSTs, 20 homes /s)", datasets=("school", "trust"),
        concurrency=(0,))
def peak(stage) -> list[dict]:
    """Open loop at one school (at the trust: its first school): 50 lookups, 10 incident POSTs and 20 home screens
    a second, interleaved on a fixed schedule whatever the answers; p99 of every response's server time."""
    from bench import clients

    return clients.paced_scenario(stage, {"lookup": 50, "incident_post": 10, "home": 20})


@custom("workers", "Two workers vs one (closed loop, c=64)", datasets=("trust",), concurrency=(64,))
def workers(stage) -> list[dict]:
    """Home screens and lookups at 64 connections against `corridor serve` (one process), then `--workers 2`,
    one after the other in the same run; the ratio of their throughputs."""
    from bench import clients

    return clients.workers_ratio(stage)


@custom("trust_scale", "Trust scale: lookup, quick entry, on-call board (64 clients, 2 workers vs 1)",
        datasets=("trust",), concurrency=(64,))
def trust_scale(stage) -> list[dict]:
    """The trust on PostgreSQL with `--workers 2` and, in the same run, one process: lookup, quick entry (POST and
    page) and on-call raise -> board at 64 clients (4 staff at each of 16 schools), every response checked for
    another school's rows (bench/trust_scale.py)."""
    from bench import trust_scale as ts

    return ts.run(stage)


@custom("oncall_raise", "On-call raise -> responder screen", datasets=("trust",), concurrency=(200,))
def oncall_raise(stage) -> list[dict]:
    """200 responders on /oncall/board/stream (SSE) split across two `corridor serve` processes
    (LIVE_BACKEND=postgres); 20 raises on one; time from each POST's start to each screen's `event: request`."""
    from bench import clients

    return clients.oncall_raise(stage)


@custom("home_visit_missed", "Home visit: missed deadline -> first tier's alert on screens", datasets=("trust",),
        concurrency=(20,))
def home_visit_missed(stage) -> list[dict]:
    """20 on-duty responders on /notifications/stream (SSE) across two processes running the visit timer; 50 visits
    under way whose first tier falls due at staggered moments over 50 s; time from each tier's due moment to each
    screen's alert, and each visit alerted exactly once (bench/home_visit_bench.py)."""
    from bench import home_visit_bench

    return home_visit_bench.run(stage)


@custom("on_report", "Pupils on report: the 'on report now' list and a report's grid", datasets=("school",),
        concurrency=(1,))
def on_report(stage) -> list[dict]:
    """40 pupils on report now (3-5 targets, 6 periods covering the whole day, ratings for 10 school days and today,
    some missing) written into the run's copy of the school; then at one client GET /on-report/ as a teacher and
    each report's page (its grid) as its owner: rows `on_report.now` and `on_report.grid` (bench/on_report_bench.py)."""
    from bench import on_report_bench

    return on_report_bench.run(stage)


@custom("lesson_change", "Lesson-change burst", datasets=("school", "trust"), concurrency=(250,))
def lesson_change(stage) -> list[dict]:
    """250 members of staff (the school: all of its staff; the trust: the first schools' staff) POST an incident
    at the same moment, three times (three lesson changes); an asyncio client, one connection each. Drain time =
    from the first send to the last answer; the incidents are then counted in the database (none lost or
    doubled)."""
    from bench import clients

    return clients.lesson_change(stage)


@custom("pack", "Case-conference pack PDF (300 events)", datasets=("school",), concurrency=(1,))
def case_pack(stage) -> list[dict]:
    """The pastoral officer makes a pack of the pupil with ~300 chronology entries (the chronology row's pupil,
    every source they may see) and downloads its PDF five times; the worst of the five against the budget
    (bench/pack_bench.py)."""
    from bench import pack_bench

    return pack_bench.run(stage)


@custom("attendance_import", "Attendance import, 2,640 pupils: a year, then a day", datasets=("school",),
        concurrency=(1,))
def attendance_import(stage) -> list[dict]:
    """A synthetic CSV of a year's register marks (2,640 pupils x 378 sessions) imported into an empty school,
    then the next day's marks, then that day again, in a subprocess (bench/attendance_bench.py)."""
    from bench import attendance_bench

    return attendance_bench.measure(stage)


@custom("import", "OneRoster import, 2,640 pupils", datasets=("school",), concurrency=(1,))
def import_time(stage) -> list[dict]:
    """A synthetic OneRoster 1.1 zip (2,640 pupils, their contacts, forms, enrolments) previewed and applied with
    the import service into an empty school, in a subprocess (bench/import_bench.py)."""
    from bench import clients

    return clients.import_time(stage)
