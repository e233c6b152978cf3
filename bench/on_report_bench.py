"""Pupils on report (issue 16): the 'on report now' list a teacher opens in a lesson, and a report's grid (periods x
targets) as its owner opens it; the issue's budget is p99 server <= 50 ms at the bench school.

The seed has no reports, and the seeds' fingerprints stay as they are: like the home-visit row, this writes its data
into the run's copy of the school, at its first school, before it measures:

- the school's day: `PERIODS` rated lessons that together cover the whole day (UK time), so a lesson is under way
  whatever the hour the benchmark runs (a real day covers 08:40-15:10; the list is empty outside it). Periods the
  copy already has are retired, as the admin's day page would leave them.
- `ON_REPORT` pupils on report now, each with 3-5 targets, covering every period of the day, started
  `PAST_DAYS` school days ago and running for four weeks more; owned by the pastoral officer (the caseload row's)
  or, for pupils in the years they lead, by the head of year (the follow-up list's), at levels 1-3, a few with a
  change of level on record; and `ENDED` reports that ended last week (the lists skip them).
- ratings for each school day of the report so far: every covered period and target rated by one of the school's
  members of staff, about one lesson in ten left unrated (missing, never zero); today, the lessons that are over,
  and in the lesson under way now about half of the pupils already rated (the list shows how many).

Then, as the wrk rows: the plan's first request once per session, and at one client an idle wait, a warm-up, an idle
wait and the measured run, for each of
- `on_report.now`: GET /on-report/ as the bench's member of staff (staff and responder: a teacher who rates; any
  rater at the school sees every pupil on report in the current lesson, with the rating forms);
- `on_report.grid`: GET /on-report/{id} for each of the reports, each as its owner (the day's grid, the trend over the
  report's days, the changes of level).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from bench.clients import Stage
from bench.load import Req

ON_REPORT = 40  # pupils on report now
ENDED = 12  # reports ended last week (not on the lists)
PAST_DAYS = 10  # school days of ratings before today
PERIODS = 6  # rated lessons a day, covering the whole day
HOY_SHARE = 0.4  # of the reports, owned by the head of year (pupils in their years); the rest by the pastoral officer
MISSING = 0.1  # of the lessons over, left unrated
TARGETS = ["Arrive on time with the right equipment", "Follow instructions first time", "Stay in my seat",
           "Use kind words to staff and others", "Complete the work set", "Put my hand up to speak",
           "Keep my phone away", "Leave the lesson calmly when asked"]
PUPIL_WORDS = ["I will be ready to learn", "I want to stay in class", "", "", "I will ask for help"]
HTML = (("Accept", "text/html"),)


def _day_periods() -> list[tuple[str, str, str]]:
    """(name, starts, ends) of PERIODS lessons from 00:00 to 23:59 UK time."""
    step = 24 * 60 // PERIODS
    out = []
    for i in range(PERIODS):
        start, end = i * step, min((i + 1) * step, 23 * 60 + 59)
        out.append((f"Period {i + 1}", f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"))
    return out


def _school_days_back(today: dt.date, n: int) -> list[dt.date]:
    """The n weekdays before today, oldest first."""
    days, d = [], today
    while len(days) < n:
        d -= dt.timedelta(days=1)
        if d.weekday() < 5:
            days.append(d)
    return days[::-1]


async def _setup(url: str, school_id: int, owners: dict[str, int], rng: random.Random) -> dict:
    from app import clock, db
    from app.domain.on_report.service import LONDON, _minutes
    from app.domain.on_report.tables import OnReport, OnReportChange, OnReportRating, OnReportTarget, SchoolPeriod
    from app.domain.pupils.tables import Pupil
    from app.domain.schools.tables import Membership

    engine = db.bind(url)
    pooled = url.startswith("postgres")
    if pooled:
        await engine.start_connection_pool(min_size=1, max_size=4)
    try:
        now = clock.now()
        local = now.astimezone(LONDON)
        today, minute = local.date(), local.hour * 60 + local.minute
        hoy_years = {y for r in await Membership.select(Membership.years).where(
            (Membership.person == owners["hoy"]) & (Membership.role == "head_of_year")
            & (Membership.school == school_id)) for y in (r["years"] or "").split(",") if y}
        pupils = await Pupil.select(Pupil.id, Pupil.year_code).where(
            (Pupil.school == school_id) & Pupil.left_on.is_null()).order_by(Pupil.id)
        raters = [r["person"] for r in await Membership.select(Membership.person).where(
            (Membership.school == school_id) & (Membership.role == "staff")).order_by(Membership.person)][:60]
        n_hoy = round(ON_REPORT * HOY_SHARE)
        theirs = rng.sample([p for p in pupils if not hoy_years or p["year_code"] in hoy_years], n_hoy)
        rest = rng.sample([p for p in pupils if p not in theirs], ON_REPORT - n_hoy + ENDED)
        chosen = [(p, owners["hoy"]) for p in theirs] + [(p, owners["pastoral"]) for p in rest]
        days = _school_days_back(today, PAST_DAYS)
        async with engine.transaction():
            await SchoolPeriod.update({SchoolPeriod.retired_at: now}).where(
                (SchoolPeriod.school == school_id) & SchoolPeriod.retired_at.is_null())
            periods = [SchoolPeriod(school=school_id, name=n, starts=s, ends=e, kind="lesson", position=i)
                       for i, (n, s, e) in enumerate(_day_periods())]
            await SchoolPeriod.insert(*periods)
            period_ids = ",".join(str(p.id) for p in periods)
            reports = []
            for i, (pupil, owner) in enumerate(chosen):
                ended = i >= ON_REPORT
                start = days[0] - dt.timedelta(days=14 if ended else 0)
                r = OnReport(school=school_id, pupil=pupil["id"], level=rng.choice((1, 1, 2, 2, 3)),
                             starts_on=start, ends_on=start + dt.timedelta(days=27 if not ended else 11),
                             periods=period_ids, owner=owner,
                             created_at=dt.datetime.combine(start, dt.time(8), LONDON),
                             updated_at=now, ended_at=now - dt.timedelta(days=5) if ended else None,
                             end_reason="Targets met for a fortnight" if ended else "")
                await r.save()
                reports.append(r)
            targets: dict[int, list[int]] = {}
            rows = []
            for r in reports:
                texts = rng.sample(TARGETS, rng.randint(3, 5))
                made = [OnReportTarget(report=r.id, position=k, text=t, pupil_words=rng.choice(PUPIL_WORDS))
                        for k, t in enumerate(texts)]
                await OnReportTarget.insert(*made)
                targets[r.id] = [t.id for t in made]
            changes = [OnReportChange(report=r.id, action="escalated", from_level=r.level - 1, to_level=r.level,
                                      reason="Two missed lessons in a day", by=r.owner,
                                      at=dt.datetime.combine(days[3], dt.time(15, 30), LONDON))
                       for r in reports[:ON_REPORT] if r.level > 1 and rng.random() < 0.5]
            if changes:
                await OnReportChange.insert(*changes)
            # Ratings: each school day so far; today only the lessons over, and the current one for about half.
            spans = [(p, _minutes(p.starts), _minutes(p.ends)) for p in periods]
            for r in reports:
                ended = r.ended_at is not None
                last = min(r.ends_on, today - dt.timedelta(days=1))
                span = [r.starts_on + dt.timedelta(days=k) for k in range((last - r.starts_on).days + 1)]
                for day in [d for d in span if d.weekday() < 5] + ([] if ended else [today]):
                    for p, start, end in spans:
                        if day == today and start > minute:
                            continue
                        current = day == today and start <= minute < end
                        if (current and rng.random() < 0.5) or (not current and rng.random() < MISSING):
                            continue  # not rated (yet): shown as missing, never as zero
                        by = rng.choice(raters)
                        at = dt.datetime.combine(day, dt.time(min(end, 23 * 60 + 58) // 60,
                                                              min(end, 23 * 60 + 58) % 60), LONDON)
                        for t in targets[r.id]:
                            rows.append(OnReportRating(report=r.id, target=t, period=p.id, day=day,
                                                       score=rng.choices((1, 2, 3, 4), (1, 3, 4, 2))[0],
                                                       comment=rng.choice(("", "", "", "Much better today",
                                                                           "Needed two reminders")),
                                                       rated_by=by, rated_at=min(at, now)))
            for k in range(0, len(rows), 500):
                await OnReportRating.insert(*rows[k:k + 500])
    finally:
        if pooled:
            await engine.close_connection_pool()
    running = reports[:ON_REPORT]
    return {"reports": [(r.id, r.owner) for r in running], "ratings": len(rows),
            "targets": sum(len(targets[r.id]) for r in running), "periods": period_ids, "hoy_reports": n_hoy}


def _measure(stage: Stage, key: str, title: str, reqs: list[Req], summary: str) -> dict:
    from bench.harness import csrf_for, send_once

    runner, server = stage.extra["runner"], stage.server
    base = {"scenario": key, "title": title, "dataset": stage.dataset, "concurrency": 1}
    seen: set = set()
    for r in reqs:  # each session's first request once, and it must be a page
        if r.session not in seen:
            seen.add(r.session)
            probe = send_once(server, r, stage.cookies, csrf_for)
            if probe.status_code != 200:
                return base | {"status": "harness error",
                               "note": f"GET {r.path.split('?')[0]} answered {probe.status_code}"}
    server.wait_idle()
    warm = runner.warm(server, reqs, 1, cookies=stage.cookies, csrf=csrf_for, tag=f"{stage.dataset}-{key}")
    idle = server.wait_idle()
    m = runner.measure(server, reqs, 1, cookies=stage.cookies, csrf=csrf_for, tag=f"{stage.dataset}-{key}")
    sp = m["server_ms"]
    return base | {"status": "measured", "plan_requests": len(reqs), "sessions": len(seen), "idle_wait_s": idle,
                   "server_workers": server.workers, **warm, **m,
                   "summary": f"{summary}; server p50/p99 {sp.get('p50')}/{sp.get('p99')} ms, "
                              f"CPU {m.get('cpu_ms_per_req')} ms/req"}


def run(stage: Stage) -> list[dict]:
    ctx = stage.ctx
    teacher = ctx.sessions[0]
    school_id = teacher.school_id
    pastoral = next((s for s in ctx.pastoral if s.school_id == school_id), None)
    hoy = next((s for s in ctx.hoy if s.school_id == school_id), None)
    if pastoral is None or hoy is None:
        return [{"scenario": k, "title": t, "status": "harness error", "note": "no pastoral officer or head of year"}
                for k, t in (("on_report.now", "On report now (teacher)"), ("on_report.grid", "A report's grid"))]
    made = asyncio.run(_setup(stage.url, school_id, {"pastoral": pastoral.person_id, "hoy": hoy.person_id},
                              random.Random(16)))
    stage.extra["on_report_data"] = made
    token = {pastoral.person_id: pastoral.token, hoy.person_id: hoy.token}
    now_row = _measure(stage, "on_report.now", "On report now: the list a teacher opens in a lesson",
                       [Req("GET", "/on-report/", session=teacher.token, headers=HTML)],
                       f"{ON_REPORT} pupils on report in this lesson, {made['targets']} targets, as a teacher")
    grid_row = _measure(stage, "on_report.grid", "A report's grid (periods x targets), its owner",
                        [Req("GET", f"/on-report/{rid}", session=token[owner], headers=HTML)
                         for rid, owner in made["reports"]],
                        f"{len(made['reports'])} reports, {PERIODS} periods, {PAST_DAYS} days + today, "
                        f"{made['ratings']} ratings; {made['hoy_reports']} owned by the head of year")
    return [now_row, grid_row]
