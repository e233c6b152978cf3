"""The benchmark's data sets: generated once with the app's own synthetic generator, cached, copied per run.

- school: one large school on SQLite (2,640 pupils with families and photos, 250 staff, 100,000 incidents with
  1.08 million pupil rows of which 1,000,000 are reward points).
- trust: a trust of 90 schools and 75,000 pupils on PostgreSQL (80 staff per school, no photos, 1.36 million
  incidents with 8.87 million pupil rows: about 10 million incident and point rows).

A generated data set is a *seed*: an SQLite file (var/bench/school-seed.sqlite3) or a PostgreSQL database
(corridor_bench_seed). Its `bench_marker` table holds a fingerprint of everything that shapes the data (this
file, the generator, the migrations, the sizes); a seed whose fingerprint differs is generated again. Every
run then works on a fresh copy (a file copy; `CREATE DATABASE ... TEMPLATE`), so sessions and audit rows
written by one run never leak into the next.

Incidents and reward points (`_incidents`): a year of behaviour incidents (1-3 pupils each, each pupil with a
role, category and points) and rewards (a teacher rewarding part of a class: about 20 pupils per entry, one
reward-point row per pupil), written with raw bulk inserts (SQLite executemany, PostgreSQL COPY with the
indexes dropped and rebuilt after). Recent behaviour is open or in progress, older behaviour mostly resolved,
so the follow-up list has a realistic backlog.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import io
import os
import random
import secrets
import shutil
import sqlite3
import time
from contextlib import closing, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA_VERSION = 6  # bump when what _generate makes changes in a way the fingerprint cannot see

# Roles of generated staff, weighted roughly as in a secondary school. The first member of staff at each
# school is the benchmark's own user: staff + responder, so a profile shows family contacts too.
STAFF_ROLES = [(["staff"], 70), (["staff", "responder"], 10), (["staff", "pastoral"], 6),
               (["staff", "head_of_year"], 5), (["staff", "dsl", "responder"], 2), (["admin", "staff"], 2),
               (["guest"], 5)]
BENCH_USER_ROLES = ["staff", "responder"]
# The second member of staff at the first school is the benchmark's head of year: the years they lead are chosen,
# and the statuses of their pupils' behaviour set, so that exactly HOY_OPEN items are open or in progress for them
# (the follow-up list's budget is for "a head of year with 2,000 open items").
HOY_ROLES = ["staff", "head_of_year"]
HOY_OPEN = 2000
# The third member of staff at the first school is the benchmark's pastoral officer, with a caseload of CASELOAD
# open cases; the school has OTHER_CASES more held by colleagues. One pupil of theirs (the first of the school) has a
# chronology of about CHRONOLOGY_EVENTS entries as the pastoral officer sees it (plus concerns only the DSL sees).
CASEWORKER_ROLES = ["staff", "pastoral"]
CASELOAD = 30
OTHER_CASES = 150
CHRONOLOGY_EVENTS = 300


@dataclass(frozen=True)
class Dataset:
    name: str
    engine: str  # "sqlite" or "postgres"
    schools: int
    pupils: int
    staff_per_school: int
    photos: bool
    seed: int
    incidents: int = 0  # behaviour incidents (1-3 pupils each)
    reward_rows: int = 0  # reward-point rows (IncidentPupil rows with a positive category), ~20 per entry

    @property
    def label(self) -> str:
        where = "1 school" if self.schools == 1 else f"{self.schools} schools"
        return f"{self.pupils:,} pupils, {where}, {self.engine}"


SCHOOL = Dataset("school", "sqlite", schools=1, pupils=2640, staff_per_school=250, photos=True, seed=2640,
                 incidents=50_000, reward_rows=1_000_000)
# The trust: about 10 million incident and point rows in all (incidents + incident-pupil rows), as issue 7 asks.
TRUST = Dataset("trust", "postgres", schools=90, pupils=75_000, staff_per_school=80, photos=False, seed=75,
                incidents=int(os.environ.get("BENCH_TRUST_INCIDENTS", 1_000_000)),
                reward_rows=int(os.environ.get("BENCH_TRUST_REWARD_ROWS", 7_200_000)))


def fingerprint(ds: Dataset) -> str:
    """What decides whether a seed is still good: the sizes, the code that makes the data (our _generate and the
    app's generator) and the schema (the migrations). Editing anything else here does not regenerate."""
    h = hashlib.sha256(f"{DATA_VERSION}|{ds}|{STAFF_ROLES}|{BENCH_USER_ROLES}|{CASEWORKER_ROLES}|{CASELOAD}|"
                       f"{OTHER_CASES}|{CHRONOLOGY_EVENTS}".encode())
    h.update(inspect.getsource(_generate).encode())
    h.update(inspect.getsource(_incidents).encode())
    h.update(inspect.getsource(_hoy_open).encode())
    h.update(inspect.getsource(_casework).encode())
    h.update(inspect.getsource(_attendance).encode())
    h.update(inspect.getsource(_school_days).encode())
    import importlib.util

    app_dir = Path(importlib.util.find_spec("app").origin).parent  # the app this process runs (PYTHONPATH may differ)
    sources = [app_dir / "domain/demo/service.py", app_dir / "domain/schools/service.py",
               *sorted((app_dir / "migrations").glob("*.py"))]
    for path in sources:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# Generation (inside the harness process, with the app's own code) ------------------------------------

async def _generate(ds: Dataset) -> dict:
    """Fill an empty, migrated database; returns what was made and how long each part took."""
    from app import clock
    from app.domain.demo.service import generate_pupils, generate_trust
    from app.domain.schools import service as schools
    from app.domain.schools.tables import Membership, Person, School

    timings: dict[str, float] = {}
    t = time.perf_counter()
    if ds.schools == 1:
        school_id = await schools.create_trust_with_school(
            trust_name="Bench Trust (synthetic)", trust_slug="bench", school_name="Bench Large School (synthetic)",
            school_slug="bench-large", la_code="801", establishment_number="4001")
        # 11-18: seven year groups of about 377, eight forms each.
        await generate_pupils(school_id, ds.pupils, seed=ds.seed, years=range(7, 14), photos=ds.photos)
        school_ids = [school_id]
    else:
        school_ids = await generate_trust(slug="bench", schools_count=ds.schools, pupils=ds.pupils, seed=ds.seed,
                                          photos=ds.photos)
    timings["pupils_s"] = round(time.perf_counter() - t, 2)

    # Staff: bulk inserts (the app's add_person is one transaction per person, with audit rows; at 7,200
    # people that would measure the audit log, not make data).
    t = time.perf_counter()
    rng = random.Random(ds.seed)
    now = clock.now()
    trusts = {r["id"]: r["trust"] for r in await School.select(School.id, School.trust).where(School.id.is_in(school_ids))}
    people, roles_of = [], []
    for sid in school_ids:
        for n in range(ds.staff_per_school):
            email = f"staff{n + 1}@school{sid}.bench.example"
            people.append(Person(email=email, display_name=f"Staff {n + 1} (school {sid})",
                                 user_handle=secrets.token_urlsafe(32), created_at=now))
            roles = BENCH_USER_ROLES if n == 0 else rng.choices([r for r, _ in STAFF_ROLES],
                                                                [w for _, w in STAFF_ROLES])[0]
            if n == 1 and sid == school_ids[0]:
                roles = HOY_ROLES
            if n == 2 and sid == school_ids[0]:
                roles = CASEWORKER_ROLES
            roles_of.append((sid, roles))
    async with schools.db().transaction():
        for start in range(0, len(people), 500):
            await Person.insert(*people[start:start + 500])
        memberships = [Membership(person=p.id, trust=trusts[sid], school=sid, role=role, created_at=now)
                       for p, (sid, roles) in zip(people, roles_of) for role in roles]
        for start in range(0, len(memberships), 500):
            await Membership.insert(*memberships[start:start + 500])
    timings["staff_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    staff_of: dict[int, list[int]] = {}
    for p, (sid, roles) in zip(people, roles_of):
        staff_of.setdefault(sid, []).append(p.id)
    made = await _incidents(ds, school_ids, staff_of)
    hoy = staff_of[school_ids[0]][1]
    await Membership.update({Membership.years: made["hoy_years"]}).where(
        (Membership.person == hoy) & (Membership.role == "head_of_year"))
    made |= await _alerts()
    timings["incidents_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    made |= await _casework(ds, school_ids[0], staff_of[school_ids[0]])
    timings["casework_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    made |= await _attendance(ds, school_ids)
    timings["attendance_s"] = round(time.perf_counter() - t, 2)
    return {"schools": len(school_ids), "pupils": ds.pupils, "staff": len(people), "memberships": len(memberships),
            **made, **timings}


ALERT_DAYS = 30  # the seed's incidents of this many days have their alerts (a school in use has a year of them)
ALERTS_UNREAD_DAYS = 7  # and those of the last week are unread


async def _alerts() -> dict:
    """The alerts the app would have sent for the last ALERT_DAYS days of behaviour (a negative part), each to its
    school's pastoral team and heads of year, opened after ALERTS_UNREAD_DAYS days. Until data version 6 the seeds
    had none: the alert tables started empty in every run, PostgreSQL's foreign-key check from alert_recipient to
    alert was planned (and cached by each connection) as a scan of an empty table and then read the whole growing
    table for each recipient of each POST (1,050,963 alert pages read in one run's 3,424 POSTs), and every reader of
    alerts was measured on nothing."""
    import datetime as dt

    from piccolo.engine.postgres import PostgresEngine

    from app import clock
    from app.db import raw
    from app.domain.notifications.tables import Alert, AlertRecipient

    now = clock.now()
    since, opened = now - dt.timedelta(days=ALERT_DAYS), now - dt.timedelta(days=ALERTS_UNREAD_DAYS)
    pg = isinstance(Alert._meta.db, PostgresEngine)
    stamp = "{}::timestamptz" if pg else "{}"
    await raw(Alert, "INSERT INTO alert (id, school, kind, text, link, created_at) "
                     "SELECT i.id, i.school, 'incident.routed', 'Behaviour (synthetic): needs follow-up.', "
                     f"'/incidents/' || i.id, i.recorded_at FROM incident i WHERE i.recorded_at >= {stamp} AND EXISTS "
                     "(SELECT 1 FROM incident_pupil ip JOIN category c ON c.id = ip.category "
                     "WHERE ip.incident = i.id AND c.kind = 'negative')", since)  # nosec B608  # a cast, no value
    await raw(AlertRecipient, "INSERT INTO alert_recipient (alert, person, school, read_at) SELECT a.id, m.person, "
                              f"a.school, CASE WHEN a.created_at < {stamp} THEN {stamp} END FROM alert a "
                              "JOIN membership m ON m.school = a.school AND m.role IN ('pastoral', 'head_of_year')",
              opened, opened)  # nosec B608  # a cast, no value
    if pg:
        await raw(Alert, "SELECT setval(pg_get_serial_sequence('alert', 'id'), (SELECT max(id) FROM alert))")
    return {"alerts": await Alert.count(), "alert_recipients": await AlertRecipient.count()}


async def _incidents(ds: Dataset, school_ids: list[int], staff_of: dict[int, list[int]]) -> dict:
    """A year of behaviour incidents and reward points, bulk-inserted (raw SQL: an ORM object per row would
    measure the ORM). Returns the counts."""
    import datetime as dt

    from app import clock
    from app.domain.incidents import service as incidents
    from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
    from app.domain.oncall import service as oncall
    from app.domain.pupils.tables import Pupil
    from app.domain.schools import service as schools

    for sid in school_ids:
        await incidents.ensure_defaults(sid)
        await oncall.ensure_defaults(sid)
    rng = random.Random(ds.seed * 13)
    now = clock.now()
    pg = ds.engine == "postgres"
    ts = (lambda d: d) if pg else (lambda d: d.isoformat(" "))
    cats = await Category.select(Category.id, Category.school, Category.kind, Category.points)
    locs = await Location.select(Location.id, Location.school)
    pupils = await Pupil.select(Pupil.id, Pupil.school, Pupil.year_code).where(Pupil.left_on.is_null())
    by = lambda rows: {sid: [r for r in rows if r["school"] == sid] for sid in school_ids}  # noqa: E731
    cats_of, locs_of, pupils_of = by(cats), by(locs), by(pupils)
    roles = ["instigator", "target", "witness", "involved"]
    inc_rows, link_rows = [], []
    inc_id = link_id = 0

    def when() -> dt.datetime:  # a school day in the last year, 08:30-15:30
        day = now - dt.timedelta(days=rng.randrange(0, 365))
        return day.replace(hour=8, minute=30, second=0, microsecond=0) + dt.timedelta(seconds=rng.randrange(0, 7 * 3600))

    for sid in school_ids:
        neg = [c for c in cats_of[sid] if c["kind"] == "negative"]
        pos = [c for c in cats_of[sid] if c["kind"] == "positive"]
        pids = [p["id"] for p in pupils_of[sid]]
        lids = [loc["id"] for loc in locs_of[sid]]
        staff = staff_of[sid]
        n_bad, n_good = ds.incidents // len(school_ids), ds.reward_rows // len(school_ids)
        for _ in range(n_bad):
            inc_id += 1
            at = when()
            inc_rows.append((inc_id, sid, rng.choice(lids), ts(at), "", rng.choice(staff), ts(at)))
            recent = (now - at).days < 14
            for j, pid in enumerate(rng.sample(pids, rng.choice((1, 1, 1, 2, 2, 3)))):
                c = rng.choice(neg)
                status = (rng.choice(("open", "open", "in_progress")) if recent else
                          ("open" if rng.random() < 0.02 else "resolved"))
                link_id += 1
                link_rows.append((link_id, inc_id, pid, "instigator" if j == 0 else rng.choice(roles), c["id"],
                                  c["points"], status, ts(at)))
        made = 0
        while made < n_good:
            inc_id += 1
            at = when()
            inc_rows.append((inc_id, sid, None, ts(at), "", rng.choice(staff), ts(at)))
            c = rng.choice(pos)
            group = min(n_good - made, rng.randrange(10, 31), len(pids))
            for pid in rng.sample(pids, group):
                link_id += 1
                link_rows.append((link_id, inc_id, pid, "involved", c["id"], c["points"], "resolved", ts(at)))
            made += group
    hoy_years = _hoy_open(link_rows, {p["id"]: p["year_code"] for p in pupils_of[school_ids[0]]},
                          {c["id"] for c in cats if c["kind"] == "negative"})
    inc_cols = ["id", "school", "location", "occurred_at", "note", "recorded_by", "recorded_at"]
    link_cols = ["id", "incident", "pupil", "role", "category", "points", "status", "updated_at"]
    tables = [(Incident._meta.tablename, inc_cols, inc_rows), (IncidentPupil._meta.tablename, link_cols, link_rows)]
    engine = schools.db()
    if pg:
        import asyncpg

        con = await asyncpg.connect(**engine.config)  # COPY through a raw connection of the app's own engine
        try:
            names = [t for t, _, _ in tables]
            indexes = await con.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[]) "
                                      "AND indexname NOT LIKE '%_pkey'", names)
            for ix in indexes:
                await con.execute(f'DROP INDEX "{ix["indexname"]}"')
            await con.execute("SET session_replication_role = replica")  # no per-row FK triggers: ids are ours
            for name, cols, rows in tables:
                for start in range(0, len(rows), 200_000):
                    await con.copy_records_to_table(name, records=rows[start:start + 200_000], columns=cols)
                await con.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            await con.execute("SET session_replication_role = origin")
            for ix in indexes:
                await con.execute(ix["indexdef"])
        finally:
            await con.close()
    else:
        path = engine.path
        with closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA synchronous = OFF")
            with con:
                for name, cols, rows in tables:
                    marks = ", ".join("?" * len(cols))
                    con.executemany(f'INSERT INTO "{name}" ({", ".join(cols)}) VALUES ({marks})', rows)
    return {"incidents": len(inc_rows), "incident_pupil_rows": len(link_rows), "hoy_years": hoy_years,
            "reward_rows": len(link_rows) - sum(1 for r in link_rows if r[3] != "involved" or r[5] < 0)}


async def _casework(ds: Dataset, school_id: int, staff: list[int]) -> dict:
    """The first school's casework: the pastoral officer's caseload (CASELOAD open cases, each with targets and
    reviews), OTHER_CASES held by colleagues, and the chronology pupil (the school's first): ~CHRONOLOGY_EVENTS
    entries as the pastoral officer sees them (their random behaviour incidents, plus incidents, contacts, referral
    changes, an intervention, two cases with reviews and on-call requests made here) and concerns for the DSL."""
    import datetime as dt

    from app import clock
    from app.domain.casework.service import ensure_types
    from app.domain.casework.tables import Case, CaseReview, CaseTarget, CaseType, TargetRating
    from app.domain.concerns.tables import Concern, ConcernEntry
    from app.domain.contact_log.tables import ContactLog
    from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
    from app.domain.interventions.service import ensure_goals
    from app.domain.interventions.tables import Instrument, Measure, Participant, Programme
    from app.domain.oncall.tables import OnCallPupil, OnCallReason, OnCallRequest
    from app.domain.pupils.tables import Pupil
    from app.domain.referrals.service import ensure_defaults as ensure_services
    from app.domain.referrals.tables import Referral, ReferralEvent, ReferralService

    rng = random.Random(ds.seed * 29)
    now = clock.now()
    officer, others = staff[2], [p for i, p in enumerate(staff) if i not in (0, 2)][:40]
    pupils = [r["id"] for r in await Pupil.select(Pupil.id).where(
        (Pupil.school == school_id) & Pupil.left_on.is_null()).order_by(Pupil.id)]
    busy, rest = pupils[0], pupils[1:]

    def ago(days: float) -> dt.datetime:
        return (now - dt.timedelta(days=days)).replace(microsecond=0)

    await ensure_types(school_id)
    types = [r["id"] for r in await CaseType.select(CaseType.id).where(CaseType.school == school_id)]

    async def case(pupil: int, keyworker: int, *, reviews: int, closed: bool = False) -> None:
        started = ago(rng.randrange(60, 300))
        row = Case(school=school_id, pupil=pupil, keyworker=keyworker, case_type=rng.choice(types),
                   reason="Synthetic case for the benchmark", started_on=started.date(), status="closed" if closed
                   else "open", next_review_on=None if closed else (now + dt.timedelta(days=rng.randrange(-10, 40))).date(),
                   outcome="met" if closed else "", closing_summary="Targets met" if closed else "",
                   closed_on=ago(5).date() if closed else None, opened_by=keyworker, created_at=started,
                   updated_at=started)
        await row.save()
        targets = []
        for k in range(2):
            target = CaseTarget(case=row.id, position=k + 1, text=f"Target {k + 1}", created_at=started)
            await target.save()
            targets.append(target.id)
        for k in range(reviews):
            held = started + dt.timedelta(weeks=6 * (k + 1))
            review = CaseReview(case=row.id, held_on=min(held, now).date(), notes="Review notes", by=keyworker,
                                created_at=min(held, now))
            await review.save()
            await TargetRating.insert(*[TargetRating(review=review.id, target=t, rating=rng.randrange(0, 11),
                                                     state=rng.choice(("in_progress", "met"))) for t in targets])

    for pupil in rng.sample(rest, CASELOAD):
        await case(pupil, officer, reviews=rng.randrange(1, 4))
    for pupil in rng.sample(rest, OTHER_CASES):
        await case(pupil, rng.choice(others), reviews=rng.randrange(0, 3))
    await case(busy, officer, reviews=6)
    await case(busy, officer, reviews=2, closed=True)

    # The chronology pupil's own records, spread over the last year.
    cats = [r["id"] for r in await Category.select(Category.id).where(
        (Category.school == school_id) & (Category.kind == "negative"))]
    locs = [r["id"] for r in await Location.select(Location.id).where(Location.school == school_id)]
    seen = await IncidentPupil.count().where((IncidentPupil.pupil == busy) & (IncidentPupil.category.kind != "positive"))
    incidents = max(0, CHRONOLOGY_EVENTS - seen - 161)  # 161: the contacts, referral steps, intervention, cases and on-call below
    for _ in range(incidents):
        at = ago(rng.uniform(0, 365))
        inc = Incident(school=school_id, location=rng.choice(locs), occurred_at=at, note="Synthetic incident",
                       recorded_by=rng.choice(others), recorded_at=at)
        await inc.save()
        together = [busy] + ([rng.choice(rest)] if rng.random() < 0.5 else [])
        await IncidentPupil.insert(*[IncidentPupil(incident=inc.id, pupil=p, role="instigator" if i == 0 else "target",
                                                   category=rng.choice(cats), points=-1, status="resolved", updated_at=at)
                                     for i, p in enumerate(together)])
    await ContactLog.insert(*[ContactLog(
        school=school_id, pupil=busy, with_label="Parent (synthetic)", method=rng.choice(("phone", "email", "meeting")),
        direction=rng.choice(("out", "in")), outcome="spoke", occurred_at=(at := ago(rng.uniform(0, 365))),
        summary="Synthetic contact", recorded_by=officer, created_at=at) for _ in range(70)])
    await ensure_services(school_id)
    services = [r["id"] for r in await ReferralService.select(ReferralService.id).where(
        ReferralService.school == school_id)]
    steps = ["draft", "sent", "acknowledged", "accepted", "waiting", "active"]
    for k in range(4):
        start = ago(330 - k * 70)
        ref = Referral(school=school_id, pupil=busy, service=services[k % len(services)], owner=officer,
                       reason="Synthetic referral", state="active", sent_at=start, created_by=officer, created_at=start,
                       updated_at=start)
        await ref.save()
        await ReferralEvent.insert(*[ReferralEvent(referral=ref.id, from_state=steps[i - 1] if i else "", to_state=st,
                                                   note="Synthetic step", by=officer, at=start + dt.timedelta(days=4 * i))
                                     for i, st in enumerate(steps)])
    await ensure_goals(school_id)
    goals = (await Instrument.select(Instrument.id).where(
        (Instrument.school == school_id) & (Instrument.kind == "goals")).first())["id"]
    for k in range(2):
        start = ago(250 - k * 120)
        prog = Programme(school=school_id, name=f"Synthetic programme {k + 1}", kind="group", facilitator=officer,
                         instrument=goals, starts_on=start.date(), created_by=officer, created_at=start)
        await prog.save()
        part = Participant(programme=prog.id, pupil=busy, goals="A goal", added_at=start)
        await part.save()
        await Measure.insert(*[Measure(participant=part.id, stage=stage, taken_on=(start + dt.timedelta(weeks=w)).date(),
                                       score=rng.randrange(0, 11), by=officer, created_at=start + dt.timedelta(weeks=w))
                               for stage, w in (("baseline", 0), ("exit", 8))])
    reasons = [r["id"] for r in await OnCallReason.select(OnCallReason.id).where(OnCallReason.school == school_id)]
    for _ in range(50):
        at = ago(rng.uniform(0, 365))
        req = OnCallRequest(school=school_id, requester=rng.choice(others), location=rng.choice(locs),
                            reason=rng.choice(reasons), urgency="urgent", state="resolved", responder=officer,
                            raised_at=at, acknowledged_at=at, resolved_at=at, outcome="returned")
        await req.save()
        await OnCallPupil.insert(OnCallPupil(request=req.id, pupil=busy))
    for k in range(8):
        at = ago(rng.uniform(0, 365))
        concern = Concern(school=school_id, pupil=busy, reference=f"C-BENCH{k}", author=rng.choice(others),
                          occurred_at=at, seen_or_said="Synthetic concern", recorded_at=at, status="open")
        await concern.save()
        await ConcernEntry.insert(*[ConcernEntry(concern=concern.id, kind="action", body="Synthetic action",
                                                 by=officer, at=at + dt.timedelta(hours=h)) for h in (1, 24)])
    return {"caseload": CASELOAD, "other_cases": OTHER_CASES, "chronology_pupil": busy,
            "chronology_incidents_added": incidents}


def _hoy_open(link_rows: list[tuple], year_of: dict[int, str], negative: set[int]) -> str:
    """Choose the years the first school's head of year leads (in order, until their pupils have HOY_OPEN open or
    in-progress behaviour items) and set statuses so that exactly HOY_OPEN are: the oldest open ones resolved, or
    the newest resolved ones opened. Changes link_rows in place; returns the years, comma-separated."""
    years = sorted(set(year_of.values()), key=lambda y: (len(y), y))
    behaviour = [i for i, r in enumerate(link_rows) if r[2] in year_of and r[4] in negative]
    is_open = lambda i: link_rows[i][6] in ("open", "in_progress")  # noqa: E731
    chosen: list[str] = []
    for y in years:
        chosen.append(y)
        if sum(1 for i in behaviour if year_of[link_rows[i][2]] in chosen and is_open(i)) >= HOY_OPEN:
            break
    mine = sorted((i for i in behaviour if year_of[link_rows[i][2]] in chosen), key=lambda i: link_rows[i][7])
    opened = [i for i in mine if is_open(i)]
    if len(opened) > HOY_OPEN:  # resolve the oldest
        for i in opened[:len(opened) - HOY_OPEN]:
            link_rows[i] = (*link_rows[i][:6], "resolved", link_rows[i][7])
    else:  # open the newest resolved
        for i in [i for i in reversed(mine) if not is_open(i)][:HOY_OPEN - len(opened)]:
            link_rows[i] = (*link_rows[i][:6], "open", link_rows[i][7])
    return ",".join(chosen)


# A year of register marks: ATTENDANCE_DAYS school days (2 sessions each: 380 sessions) ending today, for every pupil
# of every school. Holidays (month, day ranges) are skipped, so half terms exist for the early-intervention figures.
ATTENDANCE_DAYS = 190
HOLIDAYS = [((7, 22), (8, 31)), ((10, 24), (11, 1)), ((12, 19), (12, 31)), ((1, 1), (1, 4)), ((2, 14), (2, 22)),
            ((4, 1), (4, 14)), ((5, 23), (5, 31))]


def _school_days(today, count: int) -> list:
    """The `count` weekdays up to and including `today`, oldest first, skipping HOLIDAYS."""
    import datetime as dt

    days, day = [], today
    while len(days) < count:
        md = (day.month, day.day)
        if day.weekday() < 5 and not any(a <= md <= b for a, b in HOLIDAYS):
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


async def _attendance(ds: Dataset, school_ids: list[int]) -> dict:
    """ATTENDANCE_DAYS school days of AM and PM marks for every pupil (the trust: 75,000 x 380 = 28.5 million), as
    a year of MIS imports would leave them, bulk-inserted (PostgreSQL: COPY per school with the indexes dropped and
    rebuilt after; SQLite: executemany), plus the school-day rows the import keeps. Each pupil has an absence rate
    (most under 5%, some persistent absentees, a few severe), absence comes in whole days with a reason code mix,
    and about 2% of mornings are late (L, some U after the register closes)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from app import clock
    from app.domain.attendance.tables import AttendanceMark, AttendanceSchoolDay
    from app.domain.pupils.tables import Pupil
    from app.domain.schools import service as schools

    now = clock.now()
    days = _school_days(now.astimezone(ZoneInfo("Europe/London")).date(), ATTENDANCE_DAYS)
    pg = ds.engine == "postgres"
    ts = (lambda d: d) if pg else (lambda d: d.isoformat(" "))
    dkey = (lambda d: d) if pg else (lambda d: d.isoformat())
    keys = [dkey(d) for d in days]
    created = ts(now)
    absent = ["I"] * 40 + ["M"] * 6 + ["C"] * 8 + ["O"] * 20 + ["N"] * 12 + ["G"] * 6 + ["R"] * 2 + ["E"] * 2 + \
        ["B"] * 4
    pupils = await Pupil.select(Pupil.id, Pupil.school).where(Pupil.left_on.is_null()).order_by(Pupil.id)
    by_school: dict[int, list[int]] = {sid: [] for sid in school_ids}
    for r in pupils:
        by_school.setdefault(r["school"], []).append(r["id"])
    cols = ["id", "school", "pupil", "day", "session", "code", "minutes_late", "created_at"]
    rng = random.Random(ds.seed * 41)
    mark_id = 0

    def marks(sid: int) -> list[tuple]:
        nonlocal mark_id
        rows = []
        for pid in by_school[sid]:
            kind = rng.random()
            # A spell starts on a day with probability `start` and runs on to the next day with probability 1/2,
            # so absence is about 2 x start: under 5% for most pupils, 5-16% for some, 16-60% for a few.
            start = rng.uniform(0, 0.025) if kind < 0.8 else rng.uniform(0.025, 0.08) if kind < 0.96 else \
                rng.uniform(0.08, 0.3)
            late = rng.uniform(0, 0.05)
            off = None
            for key in keys:
                r = rng.random()
                if off and rng.random() < 0.5 or r < start:
                    off = off or rng.choice(absent)
                    rows.append((mark_id + 1, sid, pid, key, "AM", off, None, created))
                    rows.append((mark_id + 2, sid, pid, key, "PM", off, None, created))
                else:
                    off = None
                    r = rng.random()
                    if r < late:
                        am, mins = ("L", rng.randrange(2, 25)) if r < late * 0.8 else ("U", rng.randrange(30, 70))
                    else:
                        am, mins = "/", None
                    rows.append((mark_id + 1, sid, pid, key, "AM", am, mins, created))
                    rows.append((mark_id + 2, sid, pid, key, "PM", "\\", None, created))
                mark_id += 2
        return rows

    mark_table, day_table = AttendanceMark._meta.tablename, AttendanceSchoolDay._meta.tablename
    day_rows = [(i + 1, sid, key) for i, (sid, key) in enumerate((s, k) for s in school_ids for k in keys)]
    engine = schools.db()
    if pg:
        import asyncpg

        con = await asyncpg.connect(**engine.config)
        try:
            indexes = await con.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 "
                                      "AND indexname NOT LIKE '%_pkey'", mark_table)
            for ix in indexes:
                await con.execute(f'DROP INDEX "{ix["indexname"]}"')
            await con.execute("SET session_replication_role = replica")  # no per-row FK triggers: ids are ours
            for sid in school_ids:
                await con.copy_records_to_table(mark_table, records=marks(sid), columns=cols)
            await con.copy_records_to_table(day_table, records=day_rows, columns=["id", "school", "day"])
            await con.execute("SET session_replication_role = origin")
            for ix in indexes:
                await con.execute(ix["indexdef"])
            for name in (mark_table, day_table):
                await con.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        finally:
            await con.close()
    else:
        with closing(sqlite3.connect(engine.path)) as con:
            con.execute("PRAGMA synchronous = OFF")
            with con:
                for sid in school_ids:
                    con.executemany(f'INSERT INTO "{mark_table}" ({", ".join(cols)}) VALUES ({", ".join("?" * 8)})',
                                    marks(sid))
                con.executemany(f'INSERT INTO "{day_table}" (id, school, day) VALUES (?, ?, ?)', day_rows)
    return {"attendance_marks": mark_id, "attendance_days": len(days), "attendance_from": days[0].isoformat(),
            "attendance_to": days[-1].isoformat()}


MARKER_DDL = "CREATE TABLE IF NOT EXISTS bench_marker (fingerprint TEXT, made_at TEXT, detail TEXT)"


# SQLite: a seed file, copied per run --------------------------------------------------------------------

def _sqlite_marker(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(path)) as con:
            row = con.execute("SELECT fingerprint FROM bench_marker").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def ensure_sqlite_seed(ds: Dataset, seed_path: Path) -> dict:
    """Generate the seed file unless one with the same fingerprint exists; returns a description."""
    from app import db

    fp = fingerprint(ds)
    if _sqlite_marker(seed_path) == fp:
        return {"dataset": ds.name, "fingerprint": fp, "generated": False, "path": str(seed_path)}
    tmp = seed_path.with_name(seed_path.stem + ".tmp.sqlite3")
    _remove_sqlite(tmp)
    url = f"sqlite:///{tmp}"
    t = time.perf_counter()

    async def work():
        with redirect_stdout(io.StringIO()):  # Piccolo narrates each migration
            await db.migrate(url)
        db.bind(url)
        return await _generate(ds)

    detail = asyncio.run(work())
    with closing(sqlite3.connect(tmp)) as con:
        with con:
            con.execute(MARKER_DDL)
            con.execute("INSERT INTO bench_marker VALUES (?, datetime('now'), ?)", (fp, repr(detail)))
        con.execute("ANALYZE")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _remove_sqlite(seed_path)
    tmp.rename(seed_path)
    _remove_sqlite(tmp)
    return {"dataset": ds.name, "fingerprint": fp, "generated": True, "seconds": round(time.perf_counter() - t, 1),
            "path": str(seed_path), **detail}


def fresh_sqlite(seed_path: Path, run_path: Path) -> None:
    _remove_sqlite(run_path)
    shutil.copyfile(seed_path, run_path)


# PostgreSQL: a seed database, used as the template of each run's database ------------------------------

def _pg_parts(url: str) -> dict:
    p = urlsplit(url)
    return {"host": p.hostname or "127.0.0.1", "port": p.port or 5432, "user": p.username or "postgres",
            "password": p.password}


def pg_url(base: str, name: str) -> str:
    p = urlsplit(base)
    return p._replace(path="/" + name).geturl()


async def _pg_admin(base: str):
    import asyncpg

    return await asyncpg.connect(**_pg_parts(base), database="postgres", timeout=5)


async def pg_reachable(base: str) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        con = await _pg_admin(base)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", and we say which
        return f"{type(exc).__name__}: {exc}"
    await con.close()
    return None


async def _pg_marker(base: str, name: str) -> str | None:
    import asyncpg

    admin = await _pg_admin(base)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    if not exists:
        return None
    con = await asyncpg.connect(**_pg_parts(base), database=name, timeout=5)
    try:
        return await con.fetchval("SELECT fingerprint FROM bench_marker LIMIT 1")
    except asyncpg.PostgresError:
        return None
    finally:
        await con.close()


def _safe(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    return name


async def _recreate(base: str, name: str, template: str | None = None) -> None:
    """A new, empty database, or a copy of `template`. A copy is made file by file (STRATEGY FILE_COPY, PostgreSQL
    15 and later) and followed by a CHECKPOINT: the default since 15 (WAL_LOG) writes the whole 4.9 GB trust through
    the WAL and shared buffers, took twice as long (18.8 s against 9.8 here) and left about 550 MB of dirty pages
    and a checkpoint's worth of buffers for the trust's scenarios to write out while being measured: backends
    evicting the copy's dirty buffers and commits waiting behind the write-back (in a run after such a copy the
    trust's incident POST read 2.75 ms of PostgreSQL CPU a request and p50 4.58 ms; after a file copy, 2.15 ms and
    3.38 ms: bench/README.md, "7 December, late")."""
    admin = await _pg_admin(base)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{_safe(name)}" WITH (FORCE)')
        extra = f' TEMPLATE "{_safe(template)}"' if template else ""
        if template and int(await admin.fetchval("SHOW server_version_num")) >= 150000:
            extra += " STRATEGY FILE_COPY"
        await admin.execute(f'CREATE DATABASE "{_safe(name)}"{extra}')
        if template:
            await admin.execute("CHECKPOINT")
    finally:
        await admin.close()


def ensure_pg_seed(ds: Dataset, base: str, seed_name: str) -> dict:
    import asyncpg

    from app import db

    fp = fingerprint(ds)
    if asyncio.run(_pg_marker(base, seed_name)) == fp:
        return {"dataset": ds.name, "fingerprint": fp, "generated": False, "database": seed_name}
    tmp = seed_name + "_tmp"
    url = pg_url(base, tmp)
    t = time.perf_counter()

    async def work():
        await _recreate(base, tmp)
        with redirect_stdout(io.StringIO()):
            await db.migrate(url)
        engine = db.bind(url)
        await engine.start_connection_pool(min_size=1, max_size=4)
        try:
            return await _generate(ds)
        finally:
            await engine.close_connection_pool()

    detail = asyncio.run(work())

    async def finish():
        con = await asyncpg.connect(**_pg_parts(base), database=tmp, timeout=5)
        try:
            await con.execute(MARKER_DDL)
            await con.execute("INSERT INTO bench_marker VALUES ($1, now()::text, $2)", fp, repr(detail))
            # VACUUM (FREEZE) as well as ANALYZE: bulk-loaded rows carry no hint bits and are not frozen, so every
            # run's copy of the seed (CREATE DATABASE ... TEMPLATE) set them again as its first reads went, and
            # autovacuum could start on the copy's big tables mid-run; a school's database in use has been vacuumed.
            # The trust-scale rows read PostgreSQL's CPU per lookup at 0.4 and 1.4-1.8 ms in one run, unvacuumed.
            await con.execute("VACUUM (FREEZE, ANALYZE)", timeout=3600)
        finally:
            await con.close()
        admin = await _pg_admin(base)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{_safe(seed_name)}" WITH (FORCE)')
            await admin.execute(f'ALTER DATABASE "{_safe(tmp)}" RENAME TO "{_safe(seed_name)}"')
        finally:
            await admin.close()

    asyncio.run(finish())
    return {"dataset": ds.name, "fingerprint": fp, "generated": True, "seconds": round(time.perf_counter() - t, 1),
            "database": seed_name, **detail}


def fresh_pg(base: str, seed_name: str, run_name: str) -> None:
    asyncio.run(_recreate(base, run_name, template=seed_name))
    os.sync()  # nothing of the copy left for the disk to write while the trust is measured


async def pg_server_version(base: str) -> str:
    admin = await _pg_admin(base)
    try:
        return await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
