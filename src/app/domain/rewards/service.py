"""Rewards for the year team (issue 15, point 7): reward points per pupil, form and year for any period, the
assembly leaderboard, and milestone certificates.

A reward is an incident part in a positive category; its points count on the day it happened (London time).
Deleted incidents count for nothing. Periods are whole days, both ends included. The school's half terms come from
its attendance school days (runs of school weeks, as the data review finds them); a term is two half terms.

Who sees: the people who follow up pupils (pastoral, pastoral lead, the DSL team) any year; a head of year their
own years; everyone else, and another school, "not found" (the rules of the totals page this replaces).

This sits above incidents and attendance and reads their tables; nothing below imports it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app import clock, db
from app.domain.attendance.service import year_start  # the academic year from 1 September, one rule
from app.domain.attendance.tables import AttendanceSchoolDay
from app.domain.audit import service as audit
from app.domain.incidents.tables import Incident
from app.domain.pupils.tables import Pupil, TutorGroup
from app.domain.rewards.tables import CertificateBatch, CertificatePrint, RewardSettings
from app.domain.schools.service import Actor, hoy_years
from app.errors import NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
VIEWERS = ("pastoral", "head_of_year", "dsl")  # pastoral_lead implies pastoral
ANY_YEAR = ("pastoral", "dsl")
SETS_MILESTONES = ("admin", "pastoral_lead")
DEFAULT_MILESTONES = (50, 100, 250)
LEADERBOARD_PUPILS = 10
PRESET_LABELS = {"week": "This week", "half_term": "This half term", "term": "This term", "year": "This year"}


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def can_see(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*VIEWERS)


def can_set_milestones(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*SETS_MILESTONES)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _local(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(LONDON)


def _utc(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in London, as UTC."""
    return dt.datetime.combine(day, dt.time(0), LONDON).astimezone(dt.timezone.utc)


def short_name(first: str, last: str) -> str:
    """What a projector in the hall shows of a pupil: first name and the initial of the surname."""
    last = last.strip()
    return f"{first.strip()} {last[0].upper()}." if last else first.strip()


# Scope: the year and the period ------------------------------------------------------------------------------

async def years_for(actor: Actor) -> list[str]:
    """The year groups this actor may see the rewards of."""
    if not can_see(actor):
        raise NotFound(NOT_HERE)
    rows = await TutorGroup.select(TutorGroup.year_code).where(TutorGroup.school == actor.school_id).distinct()
    every = sorted({r["year_code"] for r in rows if r["year_code"]}, key=lambda y: (len(y), y))
    if actor.has(*ANY_YEAR):
        return every
    led = await hoy_years(actor)
    return every if led is None else [y for y in every if y in led]


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    preset: str  # week | half_term | term | year | "" (dates typed)

    @property
    def label(self) -> str:
        days = f"{self.start:%-d %b %Y} to {self.end:%-d %b %Y}"
        return f"{PRESET_LABELS[self.preset]} ({days})" if self.preset else days

    @property
    def query(self) -> str:
        if self.preset:
            return f"period={self.preset}"
        return f"period=custom&start={self.start.isoformat()}&end={self.end.isoformat()}"


async def _school_days(school_id: int, start: dt.date, end: dt.date) -> list[dt.date]:
    rows = await AttendanceSchoolDay.select(AttendanceSchoolDay.day).where(
        (AttendanceSchoolDay.school == school_id) & (AttendanceSchoolDay.day >= start)
        & (AttendanceSchoolDay.day <= end)).order_by(AttendanceSchoolDay.day)
    return [_as_date(r["day"]) for r in rows]


def half_terms(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Half terms as runs of school weeks: a week (Monday to Sunday) with no school day ends one."""
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and _monday(day) - _monday(runs[-1][-1]) <= dt.timedelta(days=7):
            runs[-1].append(day)
        else:
            runs.append([day])
    return [(r[0], r[-1]) for r in runs]


def _calendar_term_start(on: dt.date) -> dt.date:
    """Without school days to go by: autumn from 1 September, spring from 1 January, summer from 1 April."""
    if on.month >= 9:
        return dt.date(on.year, 9, 1)
    return dt.date(on.year, 4, 1) if on.month >= 4 else dt.date(on.year, 1, 1)


async def presets(school_id: int, on: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """This week, half term (when the school's days are known), term and year, each up to `on`."""
    first = year_start(on)
    out = {"week": (max(_monday(on), first), on)}
    terms = half_terms(await _school_days(school_id, first, on))
    if terms:
        # Monday of the half term's first school week, so a reward on its first day counts however the week began.
        index = len(terms) - 1
        out["half_term"] = (max(_monday(terms[index][0]), first), on)
        out["term"] = (max(_monday(terms[index - index % 2][0]), first), on)
    else:
        out["term"] = (_calendar_term_start(on), on)
    out["year"] = (first, on)
    return out


@dataclass
class Scope:
    school_id: int
    year: str
    years: list[str]
    period: Period
    presets: dict[str, tuple[dt.date, dt.date]]
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)


async def scope_for(actor: Actor, year: str | None, period: str | None = None, start: str | None = None,
                    end: str | None = None) -> Scope:
    """The year and period asked for, checked: a year the actor may not see is not found; dates that are not
    dates are named (the year so far is shown meanwhile)."""
    years = await years_for(actor)
    if not years:
        raise NotFound(NOT_HERE)
    year = year or years[0]
    if year not in years:
        raise NotFound(NOT_HERE)
    now = today()
    known = await presets(actor.school_id, now)
    errors: dict[str, str] = {}
    typed = {"start": (start or "")[:20], "end": (end or "")[:20]}
    # "custom" (or no period with dates given) is the two dates; a preset ignores the dates the form also sends.
    if period == "custom" or (not period and (start or end)):
        first = clock.parse_date(start) if start else None
        last = clock.parse_date(end) if end else None
        if first is None:
            errors["start"] = "Give the first day as a date, e.g. 2025-11-03."
        if last is None:
            errors["end"] = "Give the last day as a date, e.g. 2025-11-28."
        if first and last and first > last:
            errors["end"] = "The last day is before the first day."
        if not errors:
            return Scope(actor.school_id, year, years, Period(first, last, ""), known, typed=typed)
    chosen = period if period in known else "year"
    if period and period not in known and period != "custom":
        errors["period"] = "Choose one of the periods offered."
    first, last = known[chosen]
    return Scope(actor.school_id, year, years, Period(first, last, chosen), known, errors, typed)


# Totals ------------------------------------------------------------------------------------------------------

_POINTS = """
SELECT ip.pupil AS pupil, SUM(ip.points) AS points FROM incident_pupil ip JOIN incident i ON i.id = ip.incident
JOIN category c ON c.id = ip.category
WHERE i.school = {} AND i.deleted_at IS NULL AND c.kind = 'positive' AND i.occurred_at >= {} AND i.occurred_at < {}
GROUP BY ip.pupil
"""

_AWARDS = """
SELECT ip.pupil AS pupil, ip.points AS points, i.occurred_at AS occurred_at FROM incident_pupil ip
JOIN incident i ON i.id = ip.incident JOIN category c ON c.id = ip.category JOIN pupil p ON p.id = ip.pupil
WHERE i.school = {} AND i.deleted_at IS NULL AND c.kind = 'positive' AND p.year_code = {}
AND i.occurred_at >= {} AND i.occurred_at < {}
ORDER BY i.occurred_at, i.id
"""


async def _pupils(school_id: int, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = await Pupil.select(
        Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name, Pupil.preferred_last_name,
        Pupil.legal_last_name, Pupil.year_code, Pupil.left_on, Pupil.tutor_group.name.as_alias("form"),
    ).where((Pupil.school == school_id) & Pupil.id.is_in(ids))
    out = {}
    for r in rows:
        first = r["preferred_first_name"] or r["legal_first_name"]
        last = r["preferred_last_name"] or r["legal_last_name"]
        out[r["id"]] = {"id": r["id"], "first": first, "last": last, "name": f"{first} {last}",
                        "short": short_name(first, last), "form": r["form"] or "", "year": r["year_code"],
                        "left_on": r["left_on"]}
    return out


async def _points(school_id: int, start: dt.date, end: dt.date) -> dict[int, int]:
    rows = await Incident.raw(_POINTS, school_id, _utc(start), _utc(end + dt.timedelta(days=1)))
    return {int(r["pupil"]): int(r["points"] or 0) for r in rows}


async def totals(actor: Actor, scope: Scope) -> dict[str, Any]:
    """Reward points in the period: per pupil and per form of the chosen year, and per year group the actor
    may see. Pupils and forms are as they are now (a pupil who moved form counts for their form today)."""
    points = await _points(scope.school_id, scope.period.start, scope.period.end)
    people = await _pupils(scope.school_id, list(points))
    pupils: list[dict] = []
    forms: dict[str, int] = {}
    years: dict[str, int] = {y: 0 for y in scope.years}
    for pid, total in points.items():
        p = people.get(pid)
        if p is None or total == 0:
            continue
        if p["year"] in years:
            years[p["year"]] += total
        if p["year"] == scope.year:
            pupils.append({**p, "points": total})
            forms[p["form"]] = forms.get(p["form"], 0) + total
    pupils.sort(key=lambda p: (-p["points"], p["name"]))
    return {"pupils": pupils, "forms": sorted(forms.items(), key=lambda kv: (-kv[1], kv[0])),
            "years": [(y, years[y]) for y in scope.years]}


def _ranked(rows: list[tuple[Any, int]]) -> list[tuple[int, Any, int]]:
    """Standard competition ranking: equal points share a place (1, 2, 2, 4)."""
    out, place, previous = [], 0, None
    for i, (item, points) in enumerate(rows, start=1):
        if points != previous:
            place, previous = i, points
        out.append((place, item, points))
    return out


async def leaderboard(actor: Actor, scope: Scope) -> dict[str, Any]:
    """The assembly's board: the top pupils (first name, initial, form) and every form of the year, ranked.
    Pupils who have left are not shown."""
    t = await totals(actor, scope)
    on = today()
    current = [p for p in t["pupils"] if p["left_on"] is None or _as_date(p["left_on"]) > on]
    ranked = _ranked([(p, p["points"]) for p in current])
    # Everyone tied with the tenth place is shown: a board that drops one of two equal pupils is unfair.
    cut = ranked[LEADERBOARD_PUPILS - 1][0] if len(ranked) >= LEADERBOARD_PUPILS else None
    top = [{"place": place, "name": p["short"], "form": p["form"], "points": points}
           for place, p, points in ranked if cut is None or place <= cut]
    forms = [{"place": place, "form": form or "No form", "points": points}
             for place, form, points in _ranked(t["forms"])]
    return {"pupils": top, "forms": forms}


async def export_totals(actor: Actor, scope: Scope, table: str) -> tuple[str, list[str], list[list[Any]]]:
    """A totals table as CSV (pupils, forms or years), audited as rewards.exported."""
    t = await totals(actor, scope)
    p = scope.period
    if table == "pupils":
        header, rows = ["Pupil", "Form", "Year", "Points"], [[x["name"], x["form"], x["year"], x["points"]]
                                                            for x in t["pupils"]]
    elif table == "forms":
        header, rows = ["Form", "Points"], [[f, n] for f, n in t["forms"]]
    elif table == "years":
        header, rows = ["Year", "Points"], [[y, n] for y, n in t["years"]]
    else:
        raise NotFound(NOT_HERE)
    await _exported(actor, table, scope, len(rows))
    return f"rewards-{table}-year-{scope.year}-{p.start}-{p.end}.csv", header, rows


async def export_leaderboard(actor: Actor, scope: Scope) -> tuple[str, list[str], list[list[Any]]]:
    """The board as CSV: the same names as the projector (first name and initial), audited."""
    board = await leaderboard(actor, scope)
    rows = ([["Pupil", x["place"], x["name"], x["form"], x["points"]] for x in board["pupils"]]
            + [["Form", x["place"], "", x["form"], x["points"]] for x in board["forms"]])
    await _exported(actor, "leaderboard", scope, len(rows))
    p = scope.period
    return (f"rewards-leaderboard-year-{scope.year}-{p.start}-{p.end}.csv", ["Board", "Place", "Pupil", "Form",
                                                                            "Points"], rows)


async def _exported(actor: Actor, table: str, scope: Scope, count: int) -> None:
    await audit.record("rewards.exported", actor_id=actor.person_id, actor_label=actor.label,
                       school_id=actor.school_id, subject_type="rewards", subject_id=table, origin=actor.origin,
                       detail={"table": table, "year": scope.year, "start": scope.period.start.isoformat(),
                               "end": scope.period.end.isoformat(), "rows": count})


# Milestones --------------------------------------------------------------------------------------------------

async def milestones_of(school_id: int) -> list[int]:
    row = await RewardSettings.select(RewardSettings.milestones).where(RewardSettings.school == school_id).first()
    if not row:
        return list(DEFAULT_MILESTONES)
    return sorted({int(x) for x in row["milestones"].split(",") if x.strip().isdigit()})


async def milestones_for(actor: Actor) -> list[int]:
    if not can_set_milestones(actor):
        raise NotFound(NOT_HERE)
    return await milestones_of(actor.school_id)


def parse_milestones(raw: str) -> list[int]:
    parts = [x.strip() for x in (raw or "").replace(";", ",").replace(" ", ",").split(",") if x.strip()]
    if not parts:
        raise ValidationFailed({"milestones": "Give at least one milestone, e.g. 50, 100, 250."})
    if len(parts) > 12:
        raise ValidationFailed({"milestones": "Up to 12 milestones."})
    values = []
    for x in parts:
        if not x.isascii() or not x.isdigit() or not 1 <= int(x) <= 100000:
            raise ValidationFailed({"milestones": f"“{x[:20]}” is not a whole number of points from 1 to 100000."})
        values.append(int(x))
    return sorted(set(values))


async def set_milestones(actor: Actor, raw: str) -> list[int]:
    """The school's milestones (admin or pastoral lead), audited with before and after."""
    if not can_set_milestones(actor):
        raise NotFound(NOT_HERE)
    values = parse_milestones(raw)
    before = await milestones_of(actor.school_id)
    text = ",".join(str(v) for v in values)
    async with db.atomic():
        row = await RewardSettings.objects().get(RewardSettings.school == actor.school_id)
        if row is None:
            await RewardSettings.insert(RewardSettings(school=actor.school_id, milestones=text,
                                                       updated_at=clock.now()))
        else:
            await RewardSettings.update({RewardSettings.milestones: text, RewardSettings.updated_at: clock.now()}
                                        ).where(RewardSettings.school == actor.school_id)
        await audit.record("rewards.milestones_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="school", subject_id=actor.school_id,
                           origin=actor.origin, detail={"before": before, "after": values})
    return values


@dataclass
class Reached:
    pupil: dict
    milestone: int
    on: dt.date  # the day the pupil's points this academic year reached it
    points: int  # the pupil's points this academic year, up to the period's end
    printed: list[dict] = field(default_factory=list)  # earlier prints: at, by, reprint

    @property
    def pick(self) -> str:
        return f"{self.pupil['id']}:{self.milestone}"


async def reached(actor: Actor, scope: Scope) -> list[Reached]:
    """Pupils of the year whose points this academic year reached a milestone within the period, oldest first,
    each with its earlier prints. The academic year is the one the period ends in; its points start at 0 on
    1 September."""
    first_day = year_start(scope.period.end)
    marks = await milestones_of(scope.school_id)
    rows = await Incident.raw(_AWARDS, scope.school_id, scope.year, _utc(first_day),
                              _utc(scope.period.end + dt.timedelta(days=1)))
    running: dict[int, int] = {}
    crossed: dict[tuple[int, int], dt.date] = {}
    for r in rows:
        pid, on = int(r["pupil"]), _local(r["occurred_at"]).date()
        before = running.get(pid, 0)
        after = running[pid] = before + int(r["points"] or 0)
        for m in marks:
            if before < m <= after and (pid, m) not in crossed:
                crossed[(pid, m)] = on
    # A milestone passed and then lost (a reward deleted) is not reached: only the totals at the end count.
    found = [(pid, m, on) for (pid, m), on in crossed.items()
             if on >= scope.period.start and running.get(pid, 0) >= m]
    people = await _pupils(scope.school_id, list({pid for pid, _, _ in found}))
    prints = await _prints(scope.school_id, list(people), first_day)
    out = [Reached(people[pid], m, on, running[pid], prints.get((pid, m), []))
           for pid, m, on in found if pid in people and people[pid]["year"] == scope.year]
    out.sort(key=lambda x: (x.on, x.pupil["name"], x.milestone))
    return out


async def _prints(school_id: int, pupil_ids: list[int], first_day: dt.date) -> dict[tuple[int, int], list[dict]]:
    if not pupil_ids:
        return {}
    rows = await CertificatePrint.select(
        CertificatePrint.pupil, CertificatePrint.milestone, CertificatePrint.reprint,
        CertificatePrint.batch.printed_at.as_alias("at"), CertificatePrint.batch.printed_by.display_name.as_alias("by"),
    ).where((CertificatePrint.school == school_id) & CertificatePrint.pupil.is_in(pupil_ids)
            & (CertificatePrint.year_start == first_day)).order_by(CertificatePrint.id)
    out: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        out.setdefault((r["pupil"], r["milestone"]), []).append(
            {"at": _local(r["at"]), "by": r["by"], "reprint": r["reprint"]})
    return out


async def certificates(actor: Actor, scope: Scope) -> dict[str, list[Reached]]:
    """The period's milestones: not yet printed, and printed (a reprint is allowed and flagged)."""
    found = await reached(actor, scope)
    return {"waiting": [x for x in found if not x.printed], "printed": [x for x in found if x.printed]}


@dataclass
class Printed:
    school: str
    certificates: list[dict]  # name, form, milestone, on, reprint
    batch_id: int
    again: bool  # the same form sent twice: nothing recorded the second time


async def print_certificates(actor: Actor, scope: Scope, picks: list[str], key: str, reprint: bool) -> Printed:
    """Record a batch of certificates (audited) and return what to draw. A pick already printed this academic
    year needs `reprint`, and is recorded as a reprint; the same key again returns the same batch."""
    key = (key or "").strip()[:64]
    if not key:
        raise ValidationFailed({"picks": "This form has expired: reload the page and print again."})
    chosen = sorted({p.strip() for p in picks if p.strip()})
    if not chosen:
        raise ValidationFailed({"picks": "Choose at least one pupil to print a certificate for."})
    digest = hashlib.sha256(" ".join(chosen).encode()).hexdigest()
    done = await _batch(actor, key, digest)
    if done is not None:
        return done
    available = {x.pick: x for x in await reached(actor, scope)}
    # Read after what is printed: a press of the same form that committed in between shows as printed above, and
    # its batch is found here (on PostgreSQL the two requests run side by side), so this one answers with it.
    done = await _batch(actor, key, digest)
    if done is not None:
        return done
    wanted = []
    for pick in chosen:
        item = available.get(pick)
        if item is None:
            raise ValidationFailed({"picks": "A pupil chosen has not reached that milestone in this period, or "
                                             "is not in this year group: reload the page."})
        if item.printed and not reprint:
            last = item.printed[-1]
            raise ValidationFailed({"picks": f"{item.pupil['name']}'s {item.milestone}-point certificate was printed "
                                             f"on {last['at']:%-d %b %Y at %H:%M} by {last['by']}. Tick "
                                             "“This is a reprint” to print it again."})
        wanted.append(item)
    first_day = year_start(scope.period.end)
    now = clock.now()
    try:
        async with db.atomic():
            batch = CertificateBatch(school=actor.school_id, key=key, picks=digest, printed_by=actor.person_id,
                                     printed_at=now)
            await batch.save()
            for item in wanted:
                await CertificatePrint.insert(CertificatePrint(
                    batch=batch.id, school=actor.school_id, pupil=item.pupil["id"], milestone=item.milestone,
                    year_start=first_day, points=item.points, reprint=bool(item.printed)))
                await audit.record(
                    "reward_certificate.reprinted" if item.printed else "reward_certificate.printed",
                    actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                    subject_type="pupil", subject_id=item.pupil["id"], origin=actor.origin,
                    detail={"milestone": item.milestone, "year_start": first_day.isoformat(), "batch": batch.id,
                            "points": item.points})
    except Exception as exc:
        # Two presses at once with the same key: the unique key let one through; the other answers with its batch,
        # read in a transaction of its own, which on SQLite waits behind the winner's and sees its rows even while
        # their group commit is still open (as notifications._answer_of_the_winner does).
        if "unique" not in str(exc).lower():
            raise
        async with db.atomic():
            done = await _batch(actor, key, digest)
        if done is None:
            raise
        return done
    return await _batch(actor, key, digest, again=False)


async def _batch(actor: Actor, key: str, digest: str, again: bool = True) -> Printed | None:
    batch = await CertificateBatch.select(CertificateBatch.id, CertificateBatch.school, CertificateBatch.picks,
                                          CertificateBatch.school.name.as_alias("school_name")).where(
        CertificateBatch.key == key).first()
    if batch is None:
        return None
    if batch["school"] != actor.school_id or batch["picks"] != digest:
        raise ValidationFailed({"picks": "This form was already used for other pupils: the list is reloaded, "
                                         "choose again."})
    rows = await CertificatePrint.select(
        CertificatePrint.pupil, CertificatePrint.milestone, CertificatePrint.reprint, CertificatePrint.year_start,
    ).where(CertificatePrint.batch == batch["id"]).order_by(CertificatePrint.id)
    people = await _pupils(actor.school_id, [r["pupil"] for r in rows])
    certs = [{"name": people[r["pupil"]]["name"], "form": people[r["pupil"]]["form"], "milestone": r["milestone"],
              "year": _as_date(r["year_start"]).year, "reprint": r["reprint"]} for r in rows if r["pupil"] in people]
    return Printed(batch["school_name"], certs, batch["id"], again)
