"""The head of year's data review and early intervention (issue 15, points 5 and 6).

The review: for a year group (optionally one form) and a date range, incidents by category, by place, by time of
day against day of week, and week by week; attendance and punctuality week by week; rewards by form. Every figure
is computed once per data version: a few aggregates read from the database on each request (the school's latest
incident change, the latest attendance import applied, the latest pupil change, the thresholds and dismissals),
so a repeated request with nothing changed does no recomputation, and a change made through another process is
seen at once (the version is in the database, not in this process).

Early intervention: pupils crossing the thresholds a school sets, each with the reason in words. A crossing has a
key (what was crossed and when it started, e.g. "negative:2025-11-03"); a dismissal stores the keys it saw, and
the pupil comes back only when a crossing with a new key appears.

This sits above incidents and attendance: it reads their tables and att's figures; nothing below imports it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app import clock, db
from app.domain.attendance import service as attendance
from app.domain.audit import service as audit
from app.domain.casework import service as casework
from app.domain.data_review.tables import ReviewDismissal, ReviewThresholds
from app.domain.incidents.tables import Incident
from app.domain.pupils.tables import Pupil, TutorGroup
from app.domain.schools.service import Actor, hoy_years
from app.errors import NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
REVIEWERS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")
ANY_YEAR = ("pastoral", "pastoral_lead", "dsl")
SETS_THRESHOLDS = ("admin", "pastoral_lead")
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
HOURS = list(range(8, 18))  # 08:00 to 17:59; earlier or later incidents go to the first or last row
DEFAULTS: dict[str, float] = {"negative_incidents": 3, "negative_days": 7, "attendance_below": 92.0,
                              "attendance_weeks": 4, "lates_per_half_term": 5, "drop_points": 5.0, "penalty": 1,
                              "missing_clock_days": 10}
WHOLE = ("negative_incidents", "negative_days", "attendance_weeks", "lates_per_half_term", "penalty",
         "missing_clock_days")
LIMITS = {"negative_incidents": (0, 50), "negative_days": (1, 90), "attendance_below": (0, 100),
          "attendance_weeks": (1, 20), "lates_per_half_term": (0, 100), "drop_points": (0, 100), "penalty": (0, 1),
          "missing_clock_days": (0, 60)}
CACHE_SIZE = 64


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def can_review(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*REVIEWERS)


def can_set_thresholds(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*SETS_THRESHOLDS)


async def years_for(actor: Actor) -> list[str]:
    """The year groups this actor may review: a head of year their own, pastoral and the DSL team every year."""
    if not can_review(actor):
        raise NotFound(NOT_HERE)
    rows = await TutorGroup.select(TutorGroup.year_code).where(TutorGroup.school == actor.school_id).distinct()
    every = sorted({r["year_code"] for r in rows if r["year_code"]}, key=lambda y: (len(y), y))
    if actor.has(*ANY_YEAR):
        return every
    led = await hoy_years(actor)
    return every if led is None else [y for y in every if y in led]


async def forms_of(school_id: int, year: str) -> list[str]:
    rows = await TutorGroup.select(TutorGroup.name).where(
        (TutorGroup.school == school_id) & (TutorGroup.year_code == year))
    return sorted(r["name"] for r in rows)


@dataclass(frozen=True)
class Scope:
    school_id: int
    year: str
    form: str  # "" for the whole year
    start: dt.date
    end: dt.date


async def scope_for(actor: Actor, year: str | None, form: str | None, start: str | None, end: str | None) -> Scope:
    """The year, form and dates asked for, checked: a year the actor may not review is not found."""
    years = await years_for(actor)
    if not years:
        raise NotFound(NOT_HERE)
    year = year or years[0]
    if year not in years:
        raise NotFound(NOT_HERE)
    form = form or ""
    if form and form not in await forms_of(actor.school_id, year):
        raise NotFound(NOT_HERE)
    now = today()
    first = clock.parse_date(start) if start else None
    last = clock.parse_date(end) if end else None
    last = last or now
    first = first or attendance.year_start(last)
    if first > last:
        first, last = last, first
    return Scope(actor.school_id, year, form, first, last)


# The data version -------------------------------------------------------------------------------------------

# Each part is an index look-up, so the version costs well under a millisecond at a school of 2,640 pupils with a
# million incident rows: the newest incident of the school (inserts), the newest edit anywhere (IncidentVersion:
# an edit that changes a pupil's category, points or part writes one), the school's deletions and undos (a small
# partial index, migration 2026-12-07T04:20:10:000001), the newest attendance import applied and amended mark,
# pupils moving (pupils_changed_at), the thresholds and the dismissals. A status change on a follow-up is not in
# it: no chart counts statuses.
_VERSION = """
SELECT (SELECT MAX(id) FROM incident WHERE school = {school}) AS incidents,
       (SELECT MAX(id) FROM incident_version) AS edits,
       (SELECT COUNT(*) FROM incident WHERE school = {school} AND deleted_at IS NOT NULL) AS gone,
       (SELECT MAX(deleted_at) FROM incident WHERE school = {school} AND deleted_at IS NOT NULL) AS deleted,
       (SELECT MAX(applied_at) FROM attendance_import WHERE school = {school}) AS marks,
       (SELECT MAX(id) FROM attendance_mark_change) AS amended,
       (SELECT pupils_changed_at FROM school WHERE id = {school}) AS pupils,
       (SELECT updated_at FROM review_thresholds WHERE school = {school}) AS thresholds,
       (SELECT MAX(id) FROM review_dismissal WHERE school = {school}) AS dismissed
"""


async def data_version(school_id: int) -> str:
    """What the figures are computed from, read from the database: changes whenever an incident is recorded,
    edited or deleted, an attendance import is applied, pupils move, or the thresholds or dismissals change."""
    sql = _VERSION.replace("{school}", "{}")
    rows = await Incident.raw(sql, *([school_id] * sql.count("{}")))
    return "|".join(str(v) for v in rows[0].values())


class _Cache:
    """Figures by (what, scope, data version), least recently used out first. Per process: another process
    computes its own once, and a version read from the database tells every process when to compute again."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.computed = size, OrderedDict(), 0

    async def get(self, key: tuple, compute: Any) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = await compute()
        self.computed += 1
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


CACHE = _Cache(CACHE_SIZE)


# The charts -------------------------------------------------------------------------------------------------

@dataclass
class Chart:
    """One chart: its rows (label, values...) are the table alternative and the CSV."""

    key: str
    title: str
    kind: str  # bars | heat | lines
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _local(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(LONDON)


def _bounds(scope: Scope) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(scope.start, dt.time(0), LONDON).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time(0), LONDON).astimezone(dt.timezone.utc)
    return start, end


_INCIDENTS = """
SELECT i.id AS incident, i.occurred_at, COALESCE(l.name, '') AS place, c.name AS category, c.kind, ip.points,
       COALESCE(t.name, '') AS form
FROM incident_pupil ip JOIN incident i ON i.id = ip.incident JOIN category c ON c.id = ip.category
JOIN pupil p ON p.id = ip.pupil LEFT JOIN location l ON l.id = i.location
LEFT JOIN tutor_group t ON t.id = p.tutor_group
WHERE i.school = {} AND i.deleted_at IS NULL AND i.occurred_at >= {} AND i.occurred_at < {} AND p.year_code = {}
  AND p.school = {}
"""

_WEEKLY_MARKS = """
SELECT m.day, m.code, COUNT(*) AS n FROM attendance_mark m JOIN pupil p ON p.id = m.pupil
LEFT JOIN tutor_group t ON t.id = p.tutor_group
WHERE m.school = {} AND m.day >= {} AND m.day <= {} AND p.year_code = {} AND p.school = {} FORM GROUP BY m.day, m.code
"""


async def _compute(scope: Scope) -> list[Chart]:
    start, end = _bounds(scope)
    sql = _INCIDENTS + (" AND t.name = {}" if scope.form else "")
    args: list[Any] = [scope.school_id, start, end, scope.year, scope.school_id] + ([scope.form] if scope.form else [])
    rows = await Incident.raw(sql, *args)
    by_category: dict[tuple[str, str], int] = {}
    by_place: dict[str, set] = {}
    heat: dict[tuple[int, int], set] = {}
    weekly: dict[dt.date, dict[str, set]] = {}
    rewards: dict[str, int] = {}
    for r in rows:
        at = _local(r["occurred_at"])
        kind = r["kind"]
        by_category[(r["category"], kind)] = by_category.get((r["category"], kind), 0) + 1
        if kind == "negative":
            by_place.setdefault(r["place"] or "Not recorded", set()).add(r["incident"])
            hour = min(max(at.hour, HOURS[0]), HOURS[-1])
            heat.setdefault((hour, at.weekday()), set()).add(r["incident"])
        if kind in ("negative", "positive"):
            weekly.setdefault(_monday(at.date()), {"negative": set(), "positive": set()})[kind].add(r["incident"])
        if kind == "positive":
            rewards[r["form"]] = rewards.get(r["form"], 0) + int(r["points"] or 0)
    charts = []
    kinds = {"negative": "Behaviour", "positive": "Reward", "neutral": "Other"}
    charts.append(Chart("categories", "Incidents by category", "bars", ["Category", "Kind", "Pupils involved"], [
        [name, kinds.get(kind, kind), n] for (name, kind), n in
        sorted(by_category.items(), key=lambda x: (-x[1], x[0][0]))],
        "Each pupil in an incident counts once, under their own category."))
    charts.append(Chart("places", "Behaviour incidents by place", "bars", ["Place", "Incidents"], [
        [name, len(ids)] for name, ids in sorted(by_place.items(), key=lambda x: (-len(x[1]), x[0]))]))
    weekdays = [d for d in range(7) if d < 5 or any(k[1] == d for k in heat)]
    charts.append(Chart("heatmap", "Behaviour incidents by time of day and day of week", "heat",
                        ["Hour"] + [DAYS[d] for d in weekdays],
                        [[f"{h:02d}:00"] + [len(heat.get((h, d), ())) for d in weekdays] for h in HOURS],
                        "Incidents before 08:00 count at 08:00 and after 17:59 at 17:00."))
    weeks = _weeks(scope)
    charts.append(Chart("weekly", "Incidents week by week", "lines", ["Week beginning", "Behaviour", "Rewards"], [
        [w.isoformat(), len(weekly.get(w, {}).get("negative", ())), len(weekly.get(w, {}).get("positive", ()))]
        for w in weeks]))
    charts.append(await _attendance_chart(scope, weeks))
    charts.append(Chart("rewards", "Reward points by form", "bars", ["Form", "Points"], [
        [form, rewards.get(form, 0)] for form in ([scope.form] if scope.form else
                                                  await forms_of(scope.school_id, scope.year))]))
    return charts


def _weeks(scope: Scope) -> list[dt.date]:
    weeks, week = [], _monday(scope.start)
    while week <= scope.end:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return weeks


async def _attendance_chart(scope: Scope, weeks: list[dt.date]) -> Chart:
    sql = _WEEKLY_MARKS.replace("FORM", "AND t.name = {}" if scope.form else "")
    args: list[Any] = [scope.school_id, scope.start, scope.end, scope.year, scope.school_id] + ([scope.form] if scope.form else [])
    counts: dict[dt.date, dict[str, int]] = {}
    for r in await attendance.AttendanceMark.raw(sql, *args):  # nosec B608  # placeholders only
        week = counts.setdefault(_monday(attendance._as_date(r["day"])), {})
        week[r["code"]] = week.get(r["code"], 0) + int(r["n"])
    rows = []
    for w in weeks:
        c = counts.get(w, {})
        possible = sum(c.get(x, 0) for x in attendance.STATISTICAL)
        attended = sum(c.get(x, 0) for x in attendance.ATTENDED)
        if not possible:
            continue  # a holiday week, or before the marks: no point on the line
        rows.append([w.isoformat(), round(100 * attended / possible, 1), c.get("L", 0), c.get("U", 0)])
    return Chart("attendance", "Attendance and punctuality week by week", "lines",
                 ["Week beginning", "Attendance %", "Late before close (L)", "Late after close (U)"], rows,
                 "Attendance: sessions attended out of possible sessions (codes that count), as on the pupil's panel.")


async def review(actor: Actor, year: str | None = None, form: str | None = None, start: str | None = None,
                 end: str | None = None) -> dict:
    """The data review page's figures for the scope asked for; computed once per data version."""
    scope = await scope_for(actor, year, form, start, end)
    version = await data_version(scope.school_id)
    charts = await CACHE.get(("review", scope, version), lambda: _compute(scope))
    return {"scope": scope, "charts": charts, "years": await years_for(actor),
            "forms": await forms_of(scope.school_id, scope.year)}


async def chart_csv(actor: Actor, key: str, **scope: str | None) -> tuple[str, Chart]:
    """One chart's table as CSV rows (the same rows as the page's table)."""
    page = await review(actor, **scope)
    for chart in page["charts"]:
        if chart.key == key:
            s = page["scope"]
            return f"{chart.key}-year-{s.year}{'-' + s.form if s.form else ''}-{s.start}-{s.end}.csv", chart
    raise NotFound(NOT_HERE)


# Thresholds -------------------------------------------------------------------------------------------------

async def thresholds_of(school_id: int) -> dict[str, float]:
    row = await ReviewThresholds.select(*[getattr(ReviewThresholds, k) for k in DEFAULTS]).where(
        ReviewThresholds.school == school_id).first()
    return {k: (int(row[k]) if k in WHOLE else float(row[k])) for k in DEFAULTS} if row else dict(DEFAULTS)


async def thresholds_for(actor: Actor) -> dict[str, float]:
    if not can_set_thresholds(actor):
        raise NotFound(NOT_HERE)
    return await thresholds_of(actor.school_id)


async def set_thresholds(actor: Actor, form: dict[str, Any]) -> dict[str, float]:
    """Change the school's thresholds (admin or pastoral lead), audited with before and after."""
    if not can_set_thresholds(actor):
        raise NotFound(NOT_HERE)
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for k, (low, high) in LIMITS.items():
        raw = str(form.get(k, "")).strip()
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or value != value or not low <= value <= high or (k in WHOLE and value != int(value)):
            errors[k] = f"Give a {'whole ' if k in WHOLE else ''}number from {low} to {high}."
        else:
            values[k] = int(value) if k in WHOLE else value
    if errors:
        raise ValidationFailed(errors)
    async with db.atomic():
        old = await thresholds_of(actor.school_id)
        now = clock.now()
        if await ReviewThresholds.exists().where(ReviewThresholds.school == actor.school_id):
            await ReviewThresholds.update({**{getattr(ReviewThresholds, k): v for k, v in values.items()},
                                           ReviewThresholds.updated_at: now}).where(
                ReviewThresholds.school == actor.school_id)
        else:
            await ReviewThresholds.insert(ReviewThresholds(school=actor.school_id, updated_at=now, **values))
        await audit.record("review_thresholds.changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="school", subject_id=actor.school_id,
                           origin=actor.origin, detail={"before": old, "after": values})
    return values


# Early intervention -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Crossing:
    key: str  # what and since when: the pupil comes back after a dismissal only for a key not dismissed
    kind: str  # negative | attendance | lates | drop | penalty | missing
    words: str


@dataclass
class Flag:
    pupil_id: int
    name: str
    year: str
    form: str
    crossings: list[Crossing]

    @property
    def keys(self) -> str:
        return " ".join(sorted(c.key for c in self.crossings))


async def _school_days(school_id: int, start: dt.date, end: dt.date) -> list[dt.date]:
    return [attendance._as_date(r["day"]) for r in await attendance.AttendanceMark.raw(
        "SELECT day FROM attendance_school_day WHERE school = {} AND day >= {} AND day <= {} ORDER BY day",
        school_id, start, end)]


def half_terms(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Half terms as runs of school weeks: a week (Monday to Sunday) with no school day ends one."""
    terms: list[list[dt.date]] = []
    for day in days:
        if terms and _monday(day) - _monday(terms[-1][-1]) <= dt.timedelta(days=7):
            terms[-1].append(day)
        else:
            terms.append([day])
    return [(t[0], t[-1]) for t in terms]


_NEGATIVES = """
SELECT ip.pupil, i.occurred_at FROM incident_pupil ip JOIN incident i ON i.id = ip.incident
JOIN category c ON c.id = ip.category JOIN pupil p ON p.id = ip.pupil
WHERE i.school = {} AND i.deleted_at IS NULL AND c.kind = 'negative' AND i.occurred_at >= {} AND i.occurred_at < {}
ORDER BY i.occurred_at
"""

_PUPIL_CODES = """
SELECT pupil, code, COUNT(*) AS n FROM attendance_mark WHERE school = {} AND day >= {} AND day <= {}
GROUP BY pupil, code
"""


def _percent(counts: dict[str, int]) -> float | None:
    possible = sum(counts.get(x, 0) for x in attendance.STATISTICAL)
    return 100 * sum(counts.get(x, 0) for x in attendance.ATTENDED) / possible if possible else None


async def _codes(school_id: int, start: dt.date, end: dt.date) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for r in await attendance.AttendanceMark.raw(_PUPIL_CODES, school_id, start, end):
        out.setdefault(int(r["pupil"]), {})[r["code"]] = int(r["n"])
    return out


async def _crossings(school_id: int, on: dt.date) -> dict[int, list[Crossing]]:
    t = await thresholds_of(school_id)
    found: dict[int, list[Crossing]] = {}

    def add(pupil: int, key: str, kind: str, words: str) -> None:
        found.setdefault(pupil, []).append(Crossing(key, kind, words))

    year_start = attendance.year_start(on)
    # Negative incidents: an episode starts at the incident that brings the count within the window to the
    # threshold; it lasts while the count stays there. Shown while the window ending today still holds enough.
    n, days = int(t["negative_incidents"]), int(t["negative_days"])
    if n:
        start, end = _bounds(Scope(school_id, "", "", year_start, on))
        times: dict[int, list[dt.date]] = {}
        for r in await Incident.raw(_NEGATIVES, school_id, start, end):
            times.setdefault(int(r["pupil"]), []).append(_local(r["occurred_at"]).date())
        for pupil, dates in times.items():
            episode = None
            for i, d in enumerate(dates):
                within = [x for x in dates[:i + 1] if x > d - dt.timedelta(days=days)]
                if len(within) >= n:
                    episode = episode or within[-n]
                else:
                    episode = None
            recent = [x for x in dates if x > on - dt.timedelta(days=days)]
            if episode and len(recent) >= n:
                add(pupil, f"negative:{episode.isoformat()}", "negative",
                    f"{len(recent)} negative incidents in the last {days} days (the threshold is {n}).")
    school_days = await _school_days(school_id, year_start, on)
    if not school_days:
        return found
    mondays = sorted({_monday(d) for d in school_days})
    weeks = int(t["attendance_weeks"])
    below = float(t["attendance_below"])
    if below and len(mondays) >= 1:
        first = mondays[-weeks] if len(mondays) >= weeks else mondays[0]
        for pupil, c in (await _codes(school_id, first, on)).items():
            pct = _percent(c)
            if pct is not None and pct < below:
                add(pupil, f"attendance:{first.isoformat()}", "attendance",
                    f"Attendance {pct:.1f}% over the last {weeks} school weeks (under {below:g}%).")
    terms = half_terms(school_days)
    this_term = terms[-1]
    lates = int(t["lates_per_half_term"])
    term_codes = await _codes(school_id, this_term[0], on)
    if lates:
        for pupil, c in term_codes.items():
            count = c.get("L", 0) + c.get("U", 0)
            if count >= lates:
                add(pupil, f"lates:{this_term[0].isoformat()}", "lates",
                    f"{count} lates this half term (the threshold is {lates}).")
    drop = float(t["drop_points"])
    if drop and len(terms) >= 2:
        last_codes = await _codes(school_id, terms[-2][0], terms[-2][1])
        for pupil, c in term_codes.items():
            now_pct, then_pct = _percent(c), _percent(last_codes.get(pupil, {}))
            if now_pct is not None and then_pct is not None and then_pct - now_pct >= drop:
                add(pupil, f"drop:{this_term[0].isoformat()}", "drop",
                    f"Attendance {now_pct:.1f}% this half term, down {then_pct - now_pct:.1f} points from "
                    f"{then_pct:.1f}% last half term (the threshold is {drop:g}).")
    # The penalty watcher and the missing-education clock are att's own figures, read for the few pupils who
    # could have reached them (enough penalty sessions this year, or unexplained absence on the last school day).
    clock_days = int(t["missing_clock_days"])
    year_codes = await _codes(school_id, year_start, on)
    candidates = set()
    if t["penalty"]:
        candidates |= {p for p, c in year_codes.items()
                       if sum(c.get(x, 0) for x in attendance.PENALTY) >= attendance.PENALTY_SESSIONS}
    if clock_days:
        last_day = await _codes(school_id, school_days[-1], school_days[-1])
        candidates |= {p for p, c in last_day.items() if any(c.get(x) for x in attendance.UNEXPLAINED)}
    for pupil in sorted(candidates):
        f = await attendance.figures(school_id, pupil, on)
        if t["penalty"] and f.penalty.fired:
            add(pupil, f"penalty:{f.penalty.window_start.isoformat()}", "penalty",
                f"Penalty threshold: {attendance.PENALTY_SESSIONS} sessions of G, N, O or U within "
                f"{attendance.PENALTY_WEEKS} school weeks ({f.penalty.window_start:%d %b} to "
                f"{f.penalty.window_end:%d %b %Y}).")
        if clock_days and f.clock.days >= clock_days:
            add(pupil, f"missing:{f.clock.since.isoformat()}", "missing",
                f"{f.clock.days} school days in a row of unexplained absence since {f.clock.since:%a %d %b} "
                f"(missing-education clock).")
    return found


async def _flags(school_id: int, on: dt.date) -> list[Flag]:
    crossings = await _crossings(school_id, on)
    if not crossings:
        return []
    dismissed: dict[int, set[str]] = {}
    for r in await ReviewDismissal.select(ReviewDismissal.pupil, ReviewDismissal.crossings).where(
            ReviewDismissal.school == school_id):
        dismissed.setdefault(r["pupil"], set()).update(r["crossings"].split())
    pupils = {r["id"]: r for r in await Pupil.select(
        Pupil.id, Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name,
        Pupil.preferred_last_name, Pupil.year_code, Pupil.tutor_group.name, Pupil.left_on).where(
        Pupil.id.is_in(list(crossings)) & (Pupil.school == school_id))}
    flags = []
    for pupil, found in crossings.items():
        row = pupils.get(pupil)
        if not row or (row["left_on"] and row["left_on"] <= on):
            continue
        if all(c.key in dismissed.get(pupil, ()) for c in found):
            continue
        flags.append(Flag(pupil, casework.pupil_name(row, ""), row["year_code"], row["tutor_group.name"] or "", found))
    return sorted(flags, key=lambda f: (-len(f.crossings), f.name.lower()))


async def early_intervention(actor: Actor, year: str | None = None) -> dict:
    """The pupils crossing the school's thresholds today, in the years the actor may review."""
    years = await years_for(actor)
    if year and year not in years:
        raise NotFound(NOT_HERE)
    on = today()
    version = await data_version(actor.school_id)
    flags = await CACHE.get(("flags", actor.school_id, on, version), lambda: _flags(actor.school_id, on))
    shown = [f for f in flags if f.year in (([year] if year else years))]
    return {"flags": shown, "years": years, "year": year or "", "thresholds": await thresholds_of(actor.school_id)}


async def flag_for(actor: Actor, pupil_id: int) -> Flag:
    """One pupil's flag on today's list, if the actor may see it (404 otherwise, or when not on the list)."""
    page = await early_intervention(actor)
    for f in page["flags"]:
        if f.pupil_id == pupil_id:
            return f
    raise NotFound(NOT_HERE)


async def dismiss(actor: Actor, pupil_id: int, reason: str) -> None:
    """Take a pupil off the list with a reason, audited; they come back only for a new crossing."""
    flag = await flag_for(actor, pupil_id)
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise ValidationFailed({"reason": "Say why, in up to 1000 characters."})
    async with db.atomic():
        await ReviewDismissal.insert(ReviewDismissal(school=actor.school_id, pupil=pupil_id, crossings=flag.keys,
                                                     reason=reason, dismissed_by=actor.person_id,
                                                     dismissed_at=clock.now()))
        await audit.record("early_intervention.dismissed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil_id,
                           origin=actor.origin, detail={"crossings": flag.keys, "reason": reason})


async def early_intervention_csv(actor: Actor, year: str | None = None) -> list[list[str]]:
    """The list as CSV rows (pupil, year, form, the reasons), as the page shows it; the download names pupils, so
    it is audited (early_intervention.exported: the year asked for and the number of rows, no names)."""
    page = await early_intervention(actor, year)
    rows = [[f.name, f.year, f.form, " ".join(c.words for c in f.crossings)] for f in page["flags"]]
    await audit.record("early_intervention.exported", actor_id=actor.person_id, actor_label=actor.label,
                       school_id=actor.school_id, subject_type="list", subject_id=year or "", origin=actor.origin,
                       detail={"year": year or "", "rows": len(rows)})
    return rows


async def case_prefill(actor: Actor, pupil_id: int) -> dict[str, str]:
    """The case form filled in from the pupil's flag: an Attendance case if every reason is attendance, else
    Behaviour; the reasons in words; the actor as keyworker; started today."""
    if not casework.can_work(actor):
        raise NotFound(NOT_HERE)
    flag = await flag_for(actor, pupil_id)
    wanted = "Behaviour" if any(c.kind == "negative" for c in flag.crossings) else "Attendance"
    types = await casework.case_types(actor.school_id)
    type_id = next((str(t["id"]) for t in types if t["name"] == wanted), "")
    reason = "Early intervention: " + " ".join(c.words for c in flag.crossings)
    return {"pupil_id": str(pupil_id), "type_id": type_id, "keyworker_id": str(actor.person_id),
            "reason": reason, "started_on": casework.today().isoformat(), "review_weeks": ""}
