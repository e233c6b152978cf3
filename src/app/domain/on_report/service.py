"""Pupils on report (issue 16, points 1-3): the school's day, putting a pupil on report, rating each target lesson
by lesson, the day's grid and the trend, changes of level and the end of a report, and its CSV and PDF.

Who does what:
- an admin sets the school's day (periods with times) and the labels of the rating scale;
- a head of year (for their years), a pastoral officer, a pastoral lead or the DSL puts a pupil on report, changes
  its level and ends it, always with a reason;
- any member of staff at the school rates (Corridor has no timetable of who teaches whom, so "the teacher of the
  period" is whoever is with the pupil; a rating names who gave it). Guests (cover) do not rate: the targets are
  part of the pupil's behaviour record, which a guest does not see; a missed rating shows as missing;
- the report, its grid and its exports are for its owner, the DSL, and the roles ticked on "who sees it": pastoral
  (officers and leads), heads of year (for the pupil's year), the tutors of the pupil's form (pupils.tutors: named by
  an admin, or the MIS tutor's name when it is exactly one member of staff's), who also get its end-of-day summary.
Everyone else, and another school, finds nothing. A missed rating is never a zero: it is absent from averages.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.clock import parse_date
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.casework.tables import Case
from app.domain.incidents.tables import Incident, IncidentPupil
from app.domain.notifications import service as notifications
from app.domain.on_report.tables import (OnReport, OnReportChange, OnReportRating, OnReportSettings,
                                         OnReportTarget, SchoolPeriod)
from app.domain.pupils import tutors
from app.domain.pupils.tables import Pupil, TutorGroup
from app.domain.schools.service import Actor, hoy_years
from app.domain.schools.tables import Person
from app.errors import NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
MANAGERS = ("head_of_year", "pastoral", "pastoral_lead", "dsl")
RATERS = ("staff", "responder", "pastoral", "pastoral_lead", "head_of_year", "dsl")
LEVELS = {1: "Tutor report", 2: "Head of year report", 3: "Senior leader report"}
AUDIENCES = {"tutor": "Tutor", "head_of_year": "Head of year", "pastoral": "Pastoral team"}
KINDS = {"lesson": "Lesson", "registration": "Registration / tutor time", "break": "Break or lunch (not rated)"}
RATED_KINDS = ("lesson", "registration")
# A typical English secondary day; a school changes it on the day structure page.
DEFAULT_PERIODS = [("Registration", "08:40", "09:00", "registration"), ("Period 1", "09:00", "10:00", "lesson"),
                   ("Period 2", "10:00", "11:00", "lesson"), ("Break", "11:00", "11:20", "break"),
                   ("Period 3", "11:20", "12:20", "lesson"), ("Lunch", "12:20", "13:10", "break"),
                   ("Period 4", "13:10", "14:10", "lesson"), ("Period 5", "14:10", "15:10", "lesson")]
DEFAULT_LABELS = ["Not met", "Partly met", "Met", "Exceeded"]
MAX_TARGETS = 5
MAX_PERIOD_ROWS = 12
MAX_DAYS = 56  # a report runs for at most eight weeks; a longer one is a new report with a review
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def local(at: dt.datetime | None) -> dt.datetime | None:
    return at.astimezone(LONDON) if at else None


def _text(raw: Any) -> str:
    return str(raw or "").strip()


def _list(raw: Any) -> list[str]:
    if raw is None:
        return []
    return [str(v) for v in raw] if isinstance(raw, list) else [str(raw)]


def pupil_name(row: dict, prefix: str = "pupil.") -> str:
    first = row[prefix + "preferred_first_name"] or row[prefix + "legal_first_name"]
    last = row[prefix + "preferred_last_name"] or row[prefix + "legal_last_name"]
    return f"{first} {last}"


async def _audit(actor: Actor, action: str, report_id: int | None, detail: dict | None = None) -> None:
    # Ids only: no pupil name or target text in the audit log, which admins read.
    await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                       subject_type="on_report", subject_id=report_id, origin=actor.origin, detail=detail)


# The school's day and scale ------------------------------------------------------------------------------------

async def periods(school_id: int, *, with_retired: bool = False) -> list[dict]:
    """The school's periods in order (the default day is stored the first time a school's day is read)."""
    if not await SchoolPeriod.exists().where(SchoolPeriod.school == school_id):
        await SchoolPeriod.insert(*[SchoolPeriod(school=school_id, name=n, starts=s, ends=e, kind=k, position=i)
                                    for i, (n, s, e, k) in enumerate(DEFAULT_PERIODS)])
    query = SchoolPeriod.select().where(SchoolPeriod.school == school_id)
    if not with_retired:
        query = query.where(SchoolPeriod.retired_at.is_null())
    rows = await query.order_by(SchoolPeriod.position).order_by(SchoolPeriod.id)
    return rows


async def labels(school_id: int) -> list[str]:
    row = await OnReportSettings.select(OnReportSettings.labels).where(OnReportSettings.school == school_id).first()
    stored = [x for x in (row["labels"] if row else "").splitlines() if x.strip()]
    return stored or list(DEFAULT_LABELS)


def can_set_day(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has("admin")


async def day_structure_page(actor: Actor) -> dict:
    if not can_set_day(actor):
        raise NotFound(NOT_HERE)
    form: dict[str, Any] = {"labels": "\n".join(await labels(actor.school_id))}
    for i, p in enumerate(await periods(actor.school_id)):
        form.update({f"name_{i}": p["name"], f"starts_{i}": p["starts"], f"ends_{i}": p["ends"], f"kind_{i}": p["kind"]})
    return form


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def check_day(form: dict[str, Any]) -> tuple[list[tuple[str, str, str, str]], dict[str, str]]:
    """The periods typed (blank rows skipped) and a message per field that is wrong."""
    errors: dict[str, str] = {}
    rows: list[tuple[int, str, str, str, str]] = []
    for i in range(MAX_PERIOD_ROWS):
        name, starts, ends = (_text(form.get(f"{f}_{i}")) for f in ("name", "starts", "ends"))
        kind = _text(form.get(f"kind_{i}")) or "lesson"
        if not (name or starts or ends):
            continue
        if not name or len(name) > 40:
            errors[f"name_{i}"] = "Name the period (up to 40 characters)."
        if not TIME.match(starts):
            errors[f"starts_{i}"] = "Enter the start as HH:MM, for example 09:00."
        if not TIME.match(ends):
            errors[f"ends_{i}"] = "Enter the end as HH:MM, for example 10:00."
        elif TIME.match(starts) and _minutes(ends) <= _minutes(starts):
            errors[f"ends_{i}"] = "The end must be after the start."
        if kind not in KINDS:
            errors[f"kind_{i}"] = "Choose what kind of period this is."
        rows.append((i, name, starts, ends, kind))
    if not rows:
        errors["name_0"] = "Enter at least one period."
    names = [r[1].casefold() for r in rows]
    for i, name, starts, ends, _ in rows:
        if name and names.count(name.casefold()) > 1 and f"name_{i}" not in errors:
            errors[f"name_{i}"] = "Two periods have this name; give each its own."
    timed = sorted((r for r in rows if f"starts_{r[0]}" not in errors and f"ends_{r[0]}" not in errors),
                   key=lambda r: _minutes(r[2]))
    for before, after in zip(timed, timed[1:]):
        if _minutes(after[2]) < _minutes(before[3]):
            errors.setdefault(f"starts_{after[0]}", f"This overlaps {before[1]} ({before[2]}-{before[3]}).")
    label_list = [x.strip() for x in str(form.get("labels") or "").splitlines() if x.strip()]
    if not 2 <= len(label_list) <= 6 or any(len(x) > 40 for x in label_list):
        errors["labels"] = "List from 2 to 6 labels, lowest first, one a line, each up to 40 characters."
    return [(n, s, e, k) for _, n, s, e, k in sorted(rows, key=lambda r: _minutes(r[2]) if TIME.match(r[2]) else 0)
            ], errors


async def update_day_structure(actor: Actor, form: dict[str, Any]) -> None:
    """An admin sets the periods of the day and the scale's labels; a changed period is retired, not deleted, so
    past ratings keep their period."""
    if not can_set_day(actor):
        raise NotFound(NOT_HERE)
    rows, errors = check_day(form)
    if errors:
        raise ValidationFailed(errors)
    label_list = [x.strip() for x in str(form.get("labels") or "").splitlines() if x.strip()]
    now = clock.now()
    async with atomic():
        current = await periods(actor.school_id)
        before = [(p["name"], p["starts"], p["ends"], p["kind"]) for p in current]
        keep = {(p["name"], p["starts"], p["ends"], p["kind"]): p for p in current}
        for p in current:
            if (p["name"], p["starts"], p["ends"], p["kind"]) not in rows:
                await SchoolPeriod.update({SchoolPeriod.retired_at: now}).where(SchoolPeriod.id == p["id"])
        for i, row in enumerate(rows):
            if row in keep:
                await SchoolPeriod.update({SchoolPeriod.position: i}).where(SchoolPeriod.id == keep[row]["id"])
            else:
                await SchoolPeriod.insert(SchoolPeriod(school=actor.school_id, name=row[0], starts=row[1],
                                                       ends=row[2], kind=row[3], position=i))
        was_labels = await labels(actor.school_id)
        if await OnReportSettings.exists().where(OnReportSettings.school == actor.school_id):
            await OnReportSettings.update({OnReportSettings.labels: "\n".join(label_list)}).where(
                OnReportSettings.school == actor.school_id)
        else:
            await OnReportSettings.insert(OnReportSettings(school=actor.school_id, labels="\n".join(label_list)))
        await _audit(actor, "on_report.day_changed", None,
                     {"periods": [list(r) for r in rows], "was": [list(r) for r in before],
                      "labels": label_list, "was_labels": was_labels})


async def current_period(school_id: int, at: dt.datetime | None = None) -> dict | None:
    """The rated period under way now in UK time (None at break, lunch, before and after school)."""
    now = (at or clock.now()).astimezone(LONDON)
    minute = now.hour * 60 + now.minute
    for p in await periods(school_id):
        if p["kind"] in RATED_KINDS and _minutes(p["starts"]) <= minute < _minutes(p["ends"]):
            return p
    return None


# Who sees a report ---------------------------------------------------------------------------------------------

def may_manage(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*MANAGERS)


def may_rate(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*RATERS)


async def _may_act_for(actor: Actor, year_code: str) -> bool:
    """Puts on report and changes reports: pastoral, pastoral lead, DSL; a head of year for their years."""
    if actor.has("pastoral", "pastoral_lead", "dsl"):
        return True
    if actor.has("head_of_year"):
        years = await hoy_years(actor)
        return years is None or year_code in years
    return False


async def may_see(actor: Actor, report: dict, year_code: str, form: int | None = None,
                   tutored: set[int] | None = None) -> bool:
    """The report's owner, the DSL, and the audiences ticked: pastoral staff, heads of year for the pupil's year,
    the tutors of the pupil's form (`form`: the pupil's tutor group; `tutored`: the actor's forms if known)."""
    if actor.school_id is None or report["school"] != actor.school_id:
        return False
    if actor.person_id == report["owner"] or actor.has("dsl"):
        return True
    audience = set(report["visible_to"].split(","))
    if "pastoral" in audience and actor.has("pastoral", "pastoral_lead"):
        return True
    if "head_of_year" in audience and actor.has("head_of_year"):
        years = await hoy_years(actor)
        if years is None or year_code in years:
            return True
    if "tutor" in audience and form is not None:
        return form in (tutored if tutored is not None else await tutors.forms_tutored(actor))
    return False


async def _pupil(actor: Actor, pupil_id: int | None) -> dict:
    row = await Pupil.select(Pupil.id, Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name,
                             Pupil.preferred_last_name, Pupil.year_code, Pupil.tutor_group, Pupil.tutor_group.name,
                             Pupil.left_on).where(
        (Pupil.id == (pupil_id or 0)) & (Pupil.school == (actor.school_id or 0))).first() if pupil_id else None
    if not row:
        raise NotFound(NOT_HERE)
    return {"id": row["id"], "name": pupil_name(row, ""), "year_code": row["year_code"],
            "form": row["tutor_group.name"] or "", "tutor_group": row["tutor_group"], "left_on": row["left_on"]}


async def _report(actor: Actor, report_id: int) -> tuple[dict, dict]:
    """A report at the actor's school and its pupil (not found otherwise: the caller checks who may see it)."""
    report = await OnReport.select().where(
        (OnReport.id == report_id) & (OnReport.school == (actor.school_id or 0))).first()
    if not report:
        raise NotFound(NOT_HERE)
    return report, await _pupil(actor, report["pupil"])


async def _seen_report(actor: Actor, report_id: int) -> tuple[dict, dict]:
    report, pupil = await _report(actor, report_id)
    if not await may_see(actor, report, pupil["year_code"], pupil["tutor_group"]):
        raise NotFound(NOT_HERE)
    return report, pupil


def is_running(report: dict, day: dt.date) -> bool:
    return report["ended_at"] is None and report["starts_on"] <= day <= report["ends_on"]


def covered(report: dict) -> list[int]:
    return [int(x) for x in report["periods"].split(",") if x.strip().isdigit()]


async def _targets(report_id: int) -> list[dict]:
    return await OnReportTarget.select().where(OnReportTarget.report == report_id).order_by(
        OnReportTarget.position)


# Putting a pupil on report -------------------------------------------------------------------------------------

async def new_form(actor: Actor, pupil_id: int | None) -> dict:
    """The page to put a pupil on report: the pupil, the day's rated periods, the levels and the links."""
    if not may_manage(actor):
        raise NotFound(NOT_HERE)
    pupil = await _pupil(actor, pupil_id)
    if not await _may_act_for(actor, pupil["year_code"]):
        raise NotFound(NOT_HERE)
    start = today()
    rated = [p for p in await periods(actor.school_id) if p["kind"] in RATED_KINDS]
    return {"pupil": pupil, "periods": rated, "incidents": await _incidents(actor, pupil["id"]),
            "cases": await _cases(actor, pupil["id"]),
            "defaults": {"pupil_id": str(pupil["id"]), "level": "1", "starts_on": start.isoformat(),
                         "ends_on": (start + dt.timedelta(days=13)).isoformat(),
                         "period_ids": [str(p["id"]) for p in rated],
                         "visible_to": list(AUDIENCES), "case_id": "", "incident_id": ""}}


async def _incidents(actor: Actor, pupil_id: int) -> list[dict]:
    rows = await IncidentPupil.select(IncidentPupil.incident, IncidentPupil.incident.occurred_at).where(
        (IncidentPupil.pupil == pupil_id) & (IncidentPupil.incident.school == actor.school_id)).order_by(
        IncidentPupil.incident.occurred_at, ascending=False).limit(10)
    return [{"id": r["incident"], "at": local(r["incident.occurred_at"])} for r in rows]


async def _cases(actor: Actor, pupil_id: int) -> list[dict]:
    return await Case.select(Case.id, Case.started_on, Case.status).where(
        (Case.pupil == pupil_id) & (Case.school == actor.school_id)).order_by(Case.id, ascending=False).limit(10)


@notifications.releases_claim
async def put_on_report(actor: Actor, form: dict[str, Any], *, key: str | None = None, digest: str = "") -> int:
    """Put a pupil on report with its targets and covered periods; the same submission key again (or a second
    report for a pupil already on one) saves nothing new."""
    if not may_manage(actor):
        raise NotFound(NOT_HERE)
    pupil = await _pupil(actor, parse_id(form.get("pupil_id")))
    if not await _may_act_for(actor, pupil["year_code"]):
        raise NotFound(NOT_HERE)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])["report"]
    errors: dict[str, str] = {}
    level = parse_id(form.get("level"))
    if level not in LEVELS:
        errors["level"] = "Choose the level of the report."
    starts_on, ends_on = parse_date(form.get("starts_on")), parse_date(form.get("ends_on"))
    if not starts_on:
        errors["starts_on"] = "Enter the first day as a date, for example 2026-12-07."
    elif starts_on < today() - dt.timedelta(days=7):
        errors["starts_on"] = "A report can start at most a week ago."
    if not ends_on:
        errors["ends_on"] = "Enter the last day as a date, for example 2026-12-18."
    elif starts_on and ends_on < starts_on:
        errors["ends_on"] = "The last day must be on or after the first day."
    elif starts_on and (ends_on - starts_on).days >= MAX_DAYS:
        errors["ends_on"] = f"A report runs for at most {MAX_DAYS // 7} weeks; review it and start another."
    targets = []
    for i in range(1, MAX_TARGETS + 1):
        text, words = _text(form.get(f"target_{i}")), _text(form.get(f"words_{i}"))
        if not text and not words:
            continue
        if not text:
            errors[f"target_{i}"] = "Write the target the pupil's words are for."
        elif len(text) > 200:
            errors[f"target_{i}"] = "Keep the target to 200 characters."
        if len(words) > 300:
            errors[f"words_{i}"] = "Keep the pupil's words to 300 characters."
        targets.append((text, words))
    if not targets:
        errors["target_1"] = "Write at least one target."
    rated = {p["id"] for p in await periods(actor.school_id) if p["kind"] in RATED_KINDS}
    chosen = [parse_id(x) for x in _list(form.get("period_ids"))]
    if not chosen or any(c not in rated for c in chosen):
        errors["period_ids"] = "Choose the lessons the report covers."
    audience = [a for a in _list(form.get("visible_to")) if a]
    if any(a not in AUDIENCES for a in audience):
        errors["visible_to"] = "Choose who sees the report from the list."
    incident_id = parse_id(form.get("incident_id")) if _text(form.get("incident_id")) else None
    if _text(form.get("incident_id")) and not (incident_id and await IncidentPupil.exists().where(
            (IncidentPupil.incident == incident_id) & (IncidentPupil.pupil == pupil["id"])
            & (IncidentPupil.incident.school == actor.school_id))):
        errors["incident_id"] = "Choose one of this pupil's incidents, or none."
    case_id = parse_id(form.get("case_id")) if _text(form.get("case_id")) else None
    if _text(form.get("case_id")) and not (case_id and await Case.exists().where(
            (Case.id == case_id) & (Case.pupil == pupil["id"]) & (Case.school == actor.school_id))):
        errors["case_id"] = "Choose one of this pupil's cases, or none."
    if not errors and await OnReport.exists().where(
            (OnReport.pupil == pupil["id"]) & OnReport.ended_at.is_null() & (OnReport.ends_on >= starts_on)
            & (OnReport.starts_on <= ends_on)):
        errors["starts_on"] = ("This pupil is already on report for some of these days: change its level or end "
                               "it instead.")
    if errors:
        raise ValidationFailed(errors)

    async def writing() -> tuple[dict, list]:
        now = clock.now()
        report = OnReport(school=actor.school_id, pupil=pupil["id"], level=level, starts_on=starts_on,
                          ends_on=ends_on, periods=",".join(str(c) for c in sorted(set(chosen))),
                          visible_to=",".join(a for a in AUDIENCES if a in audience), incident=incident_id,
                          case=case_id, owner=actor.person_id, created_at=now, updated_at=now)
        await report.save()
        await OnReportTarget.insert(*[OnReportTarget(report=report.id, position=i, text=t, pupil_words=w)
                                      for i, (t, w) in enumerate(targets)])
        await _audit(actor, "on_report.started", report.id,
                     {"pupil": pupil["id"], "level": level, "starts_on": starts_on.isoformat(),
                      "ends_on": ends_on.isoformat(), "periods": sorted(set(chosen)), "targets": len(targets),
                      "visible_to": audience, "incident": incident_id, "case": case_id})
        return {"report": report.id}, []

    return (await notifications.answer_once(actor, key, digest, writing))["report"]


# Rating --------------------------------------------------------------------------------------------------------

async def now_list(actor: Actor) -> dict:
    """Pupils on report whose covered period is under way now (UK time), with how many targets are rated."""
    if not may_rate(actor):
        raise NotFound(NOT_HERE)
    period = await current_period(actor.school_id)
    day = today()
    pupils: list[dict] = []
    if period:
        rows = await OnReport.select(
            OnReport.id, OnReport.periods, OnReport.level, OnReport.pupil.legal_first_name,
            OnReport.pupil.legal_last_name, OnReport.pupil.preferred_first_name, OnReport.pupil.preferred_last_name,
            OnReport.pupil.year_code, OnReport.pupil.tutor_group.name).where(
            (OnReport.school == actor.school_id) & OnReport.ended_at.is_null() & (OnReport.starts_on <= day)
            & (OnReport.ends_on >= day))
        rows = [r for r in rows if period["id"] in covered(r)]
        ids = [r["id"] for r in rows]
        # Each pupil's targets and this lesson's ratings, read for all of them at once: the list carries the rating
        # forms, so a teacher rates without another page load (and without signal, through the outbox).
        targets = await OnReportTarget.select().where(OnReportTarget.report.is_in(ids)).order_by(
            OnReportTarget.position) if ids else []
        given = await OnReportRating.select(
            OnReportRating.report, OnReportRating.target, OnReportRating.score, OnReportRating.comment,
            OnReportRating.rated_by.display_name).where(
            OnReportRating.report.is_in(ids) & (OnReportRating.period == period["id"])
            & (OnReportRating.day == day)) if ids else []
        for r in rows:
            mine = [t for t in targets if t["report"] == r["id"]]
            ratings = {g["target"]: g for g in given if g["report"] == r["id"]}
            pupils.append({"report": r["id"], "name": pupil_name(r), "year": r["pupil.year_code"],
                           "form": r["pupil.tutor_group.name"] or "", "level": LEVELS[r["level"]],
                           "targets": len(mine), "rated": len(ratings), "target_rows": mine, "ratings": ratings})
        pupils.sort(key=lambda p: p["name"].casefold())
    return {"period": period, "pupils": pupils, "day": day, "labels": await labels(actor.school_id) if pupils else []}


async def rate_page(actor: Actor, report_id: int, period_id: int | None = None) -> dict:
    """The targets to rate for one covered period of today (the current one, else the latest that has begun)."""
    if not may_rate(actor):
        raise NotFound(NOT_HERE)
    report, pupil = await _report(actor, report_id)
    day = today()
    choices = await _rateable(report)
    chosen = next((p for p in choices if p["id"] == period_id), None) if period_id else None
    if not chosen and choices:
        current = await current_period(actor.school_id)
        chosen = next((p for p in choices if current and p["id"] == current["id"]), choices[-1])
    ratings = {}
    if chosen:
        rows = await OnReportRating.select(OnReportRating.target, OnReportRating.score, OnReportRating.comment,
                                           OnReportRating.rated_by.display_name).where(
            (OnReportRating.report == report_id) & (OnReportRating.period == chosen["id"])
            & (OnReportRating.day == day))
        ratings = {r["target"]: r for r in rows}
    return {"report": report, "pupil": pupil, "targets": await _targets(report_id), "labels": await labels(
        actor.school_id), "choices": choices, "period": chosen, "ratings": ratings, "running": is_running(report, day),
        "level": LEVELS[report["level"]]}


def running_at(report: dict, at: dt.datetime) -> bool:
    """Whether the report was running at this moment (on one of its days, not yet ended)."""
    day = at.astimezone(LONDON).date()
    return (report["ended_at"] is None or report["ended_at"] > at) and report["starts_on"] <= day <= report["ends_on"]


async def _rateable(report: dict, at: dt.datetime | None = None) -> list[dict]:
    """Covered periods of the day of `at` (default now) that had begun by then (a teacher may rate at the end of the
    lesson or a little later; a rating made without signal is judged at the time it was made on the phone)."""
    at = at or clock.now()
    if not running_at(report, at):
        return []
    local_at = at.astimezone(LONDON)
    minute = local_at.hour * 60 + local_at.minute
    ids = set(covered(report))
    return [p for p in await periods(report["school"], with_retired=True)
            if p["id"] in ids and (p["retired_at"] is None or p["retired_at"] > at) and _minutes(p["starts"]) <= minute]


MADE_AT_DAYS = 7  # the outbox keeps an entry until it is sent; a week is far longer than a lost signal lasts


def made_at(raw: Any) -> tuple[dt.datetime, str]:
    """When the rating was made on the phone (the form's made_at, ISO 8601; blank: now) and a message if it cannot
    be used. A phone clock ahead of the server's is brought back to now: a rating is never made in the future."""
    now = clock.now()
    text = _text(raw)
    if not text:
        return now, ""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return now, "The time this rating was made could not be read: rate the target again."
    if when.tzinfo is None:
        when = when.replace(tzinfo=LONDON)  # a time as the forms write it, in UK time
    when = min(when.astimezone(dt.timezone.utc), now)
    if when < now - dt.timedelta(days=MADE_AT_DAYS):
        return now, f"This rating was made more than {MADE_AT_DAYS} days ago, too late to add to the report."
    return when, ""


@notifications.releases_claim
async def rate(actor: Actor, report_id: int, form: dict[str, Any], *, key: str | None = None,
               digest: str = "") -> str:
    """Rate one target for one period of the day the rating was made; a later rating of the same target and period
    replaces it (the latest tap is what the teacher meant), so a double or replayed submission leaves one rating.
    "Later" is by the time made on the phone (made_at), not by arrival: a rating kept on a phone without signal and
    sent after a newer one was saved does not replace it (answer "kept_newer", audited). The same key again answers
    as the first time did."""
    if not may_rate(actor):
        raise NotFound(NOT_HERE)
    report, _ = await _report(actor, report_id)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])["outcome"]
    errors: dict[str, str] = {}
    made, made_error = made_at(form.get("made_at"))
    if made_error:
        errors["made_at"] = made_error
    target_id, period_id = parse_id(form.get("target_id")), parse_id(form.get("period_id"))
    targets = {t["id"] for t in await _targets(report_id)}
    if target_id not in targets:
        errors["target_id"] = "Choose one of the report's targets."
    if not made_error and period_id not in {p["id"] for p in await _rateable(report, made)}:
        errors["period_id"] = ("This lesson cannot be rated now: the report covers it today once it has begun, "
                               "and the report must be running.")
    scale = await labels(actor.school_id)
    score = parse_id(form.get("score"))
    if not score or score > len(scale):
        errors["score"] = f"Choose a rating from 1 to {len(scale)}."
    comment = _text(form.get("comment"))
    if len(comment) > 500:
        errors["comment"] = "Keep the comment to 500 characters."
    if errors:
        raise ValidationFailed(errors)
    day = made.astimezone(LONDON).date()

    async def writing() -> tuple[dict, list]:
        before = await OnReportRating.select(OnReportRating.id, OnReportRating.score, OnReportRating.comment,
                                             OnReportRating.rated_at).where(
            (OnReportRating.target == target_id) & (OnReportRating.period == period_id)
            & (OnReportRating.day == day)).first()
        detail = {"target": target_id, "period": period_id, "day": day.isoformat(), "score": score,
                  "was": before["score"] if before else None, "comment": bool(comment),
                  "made_at": made.isoformat()}
        if before and before["rated_at"] > made:
            # An older rating arriving late (a phone without signal): the newer one stands; this one is audited.
            await _audit(actor, "on_report.rating_kept_newer", report_id,
                         dict(detail, newer_made_at=before["rated_at"].isoformat()))
            return {"report": report_id, "outcome": "kept_newer"}, []
        if before and before["score"] == score and before["comment"] == comment:
            return {"report": report_id, "outcome": "unchanged"}, []
        if before:
            await OnReportRating.update({OnReportRating.score: score, OnReportRating.comment: comment,
                                         OnReportRating.rated_by: actor.person_id,
                                         OnReportRating.rated_at: made}).where(OnReportRating.id == before["id"])
        else:
            await OnReportRating.insert(OnReportRating(
                report=report_id, target=target_id, period=period_id, day=day, score=score, comment=comment,
                rated_by=actor.person_id, rated_at=made))
        await _audit(actor, "on_report.rating_changed" if before else "on_report.rated", report_id, detail)
        return {"report": report_id, "outcome": "changed" if before else "rated"}, []

    for _attempt in range(2):
        try:
            return (await notifications.answer_once(actor, key, digest, writing))["outcome"]
        except Exception as exc:
            # Two taps at once: the unique index let one in; the second becomes an update of it.
            if "unique" not in str(exc).lower():
                raise
    return "rated"


# The day, the trend, level and end --------------------------------------------------------------------------------

async def report_page(actor: Actor, report_id: int, day: dt.date | None = None) -> dict:
    """The report: the day's grid (periods x targets; missing where a lesson is over and was not rated), the trend
    day by day, the changes of level, and what the actor may do."""
    report, pupil = await _seen_report(actor, report_id)
    last = min(report["ends_on"], local(report["ended_at"]).date() if report["ended_at"] else report["ends_on"])
    shown = day if day and report["starts_on"] <= day <= last else min(max(today(), report["starts_on"]), last)
    targets = await _targets(report_id)
    scale = await labels(actor.school_id)
    by_id = {p["id"]: p for p in await periods(actor.school_id, with_retired=True)}
    cover = [by_id[i] for i in sorted(covered(report), key=lambda i: (by_id[i]["position"], by_id[i]["starts"]))
             if i in by_id]
    ratings = await OnReportRating.select(OnReportRating.target, OnReportRating.period, OnReportRating.day,
                                          OnReportRating.score, OnReportRating.comment,
                                          OnReportRating.rated_by.display_name, OnReportRating.rated_at).where(
        OnReportRating.report == report_id)
    grid = _grid(report, cover, targets, ratings, shown, scale)
    trend = _trend(report, cover, targets, ratings, last)
    changes = await OnReportChange.select(OnReportChange.action, OnReportChange.from_level, OnReportChange.to_level,
                                          OnReportChange.reason, OnReportChange.by.display_name,
                                          OnReportChange.at).where(
        OnReportChange.report == report_id).order_by(OnReportChange.id)
    owner = await Person.select(Person.display_name).where(Person.id == report["owner"]).first()
    days = [report["starts_on"] + dt.timedelta(days=i) for i in range((last - report["starts_on"]).days + 1)]
    averages = {}
    for t in targets:
        given = [r["score"] for r in ratings if r["target"] == t["id"]]
        averages[t["id"]] = round(sum(given) / len(given), 1) if given else None
    return {"report": report, "pupil": pupil, "targets": targets, "labels": scale, "periods": cover, "grid": grid,
            "target_averages": averages,
            "trend": trend, "changes": changes, "owner": owner["display_name"] if owner else "",
            "level": LEVELS[report["level"]], "day": shown, "days": [d for d in days if d.weekday() < 5],
            "can_change": report["ended_at"] is None and await _may_act_for(actor, pupil["year_code"]),
            "audience": [AUDIENCES[a] for a in report["visible_to"].split(",") if a in AUDIENCES]}


def _state(report: dict, period: dict, day: dt.date) -> str:
    """'missing' once a covered lesson is over unrated; 'due' while it runs; 'later' before it starts."""
    now = clock.now().astimezone(LONDON)
    if day < now.date():
        return "missing"
    if day > now.date():
        return "later"
    minute = now.hour * 60 + now.minute
    if minute >= _minutes(period["ends"]):
        return "missing"
    return "due" if minute >= _minutes(period["starts"]) else "later"


def _grid(report: dict, cover: list[dict], targets: list[dict], ratings: list[dict], day: dt.date,
          scale: list[str]) -> list[dict]:
    found = {(r["target"], r["period"]): r for r in ratings if r["day"] == day}
    rows = []
    for p in cover:
        cells = []
        for t in targets:
            r = found.get((t["id"], p["id"]))
            if r:
                cells.append({"score": r["score"], "label": scale[r["score"] - 1] if r["score"] <= len(scale) else "",
                              "comment": r["comment"], "by": r["rated_by.display_name"]})
            else:
                cells.append({"score": None, "state": _state(report, p, day)})
        rows.append({"period": p, "cells": cells})
    return rows


def _trend(report: dict, cover: list[dict], targets: list[dict], ratings: list[dict], last: dt.date) -> list[dict]:
    """Day by day (school days so far): ratings given of those due, and the average of those given (a missing
    rating is left out of the average, never counted as zero)."""
    out = []
    day, end = report["starts_on"], min(last, today())
    while day <= end:
        if day.weekday() < 5:
            given = [r["score"] for r in ratings if r["day"] == day]
            due = sum(1 for p in cover if _state(report, p, day) != "later") * len(targets)
            out.append({"day": day, "given": len(given), "due": due,
                        "average": round(sum(given) / len(given), 1) if given else None})
        day += dt.timedelta(days=1)
    return out


async def change_level(actor: Actor, report_id: int, form: dict[str, Any]) -> None:
    """Escalate or step down a report, with a reason (audited, kept on the report)."""
    report, pupil = await _seen_report(actor, report_id)
    if report["ended_at"] is not None or not await _may_act_for(actor, pupil["year_code"]):
        raise NotFound(NOT_HERE)
    errors = {}
    to = parse_id(form.get("level"))
    if to not in LEVELS or to == report["level"]:
        errors["level"] = "Choose a different level."
    reason = _text(form.get("reason"))
    if not reason or len(reason) > 1000:
        errors["reason"] = "Give the reason for the change (up to 1000 characters)."
    if errors:
        raise ValidationFailed(errors)
    action = "escalated" if to > report["level"] else "stepped_down"
    async with atomic():
        now = clock.now()
        changed = await OnReport.update({OnReport.level: to, OnReport.updated_at: now}).where(
            (OnReport.id == report_id) & (OnReport.level == report["level"]) & OnReport.ended_at.is_null()
        ).returning(OnReport.id)
        if not changed:
            return  # a second submission of the same change: the first already made it
        await OnReportChange.insert(OnReportChange(report=report_id, action=action, from_level=report["level"],
                                                   to_level=to, reason=reason, by=actor.person_id, at=now))
        await _audit(actor, f"on_report.{action}", report_id, {"from": report["level"], "to": to})


async def end_report(actor: Actor, report_id: int, form: dict[str, Any]) -> None:
    """End a report early or on its last day, with a reason."""
    report, pupil = await _seen_report(actor, report_id)
    if not await _may_act_for(actor, pupil["year_code"]):
        raise NotFound(NOT_HERE)
    if report["ended_at"] is not None:
        return  # already ended: a second submission changes nothing
    reason = _text(form.get("reason"))
    if not reason or len(reason) > 1000:
        raise ValidationFailed({"end_reason": "Give the reason for ending the report (up to 1000 characters)."})
    async with atomic():
        now = clock.now()
        ended = await OnReport.update({OnReport.ended_at: now, OnReport.end_reason: reason,
                                       OnReport.updated_at: now}).where(
            (OnReport.id == report_id) & OnReport.ended_at.is_null()).returning(OnReport.id)
        if not ended:
            return
        await OnReportChange.insert(OnReportChange(report=report_id, action="ended", from_level=report["level"],
                                                   to_level=report["level"], reason=reason, by=actor.person_id,
                                                   at=now))
        await _audit(actor, "on_report.ended", report_id, {"level": report["level"]})


# Lists -------------------------------------------------------------------------------------------------------------

async def index(actor: Actor) -> dict:
    """The 'on report now' list for staff; for the pastoral team also the reports they see, and for an owner the
    end-of-day summary of their own reports."""
    data = await now_list(actor)
    data["reports"], data["mine"], data["tutees"] = [], [], []
    tutored = await tutors.forms_tutored(actor)
    if may_manage(actor) or tutored:
        day = today()
        rows = await OnReport.select(
            OnReport.id, OnReport.school, OnReport.owner, OnReport.visible_to, OnReport.level, OnReport.starts_on,
            OnReport.ends_on, OnReport.periods, OnReport.pupil.legal_first_name, OnReport.pupil.legal_last_name,
            OnReport.pupil.preferred_first_name, OnReport.pupil.preferred_last_name, OnReport.pupil.year_code,
            OnReport.pupil.tutor_group).where(
            (OnReport.school == actor.school_id) & OnReport.ended_at.is_null() & (OnReport.ends_on >= day)).order_by(
            OnReport.starts_on)
        by_id = {p["id"]: p for p in await periods(actor.school_id, with_retired=True)}
        for r in rows:
            if not await may_see(actor, r, r["pupil.year_code"], r["pupil.tutor_group"], tutored):
                continue
            entry = {"report": r["id"], "name": pupil_name(r), "year": r["pupil.year_code"],
                     "level": LEVELS[r["level"]], "ends_on": r["ends_on"]}
            data["reports"].append(entry)
            if r["starts_on"] > day:
                continue
            # The end-of-day summary: for the report's owner, and for the tutor of the pupil's form.
            if r["owner"] == actor.person_id:
                data["mine"].append(dict(entry, **await _day_summary(
                    r, [by_id[i] for i in covered(r) if i in by_id], day)))
            elif r["pupil.tutor_group"] in tutored and "tutor" in r["visible_to"].split(","):
                data["tutees"].append(dict(entry, **await _day_summary(
                    r, [by_id[i] for i in covered(r) if i in by_id], day)))
    return data


async def _day_summary(report: dict, cover: list[dict], day: dt.date) -> dict:
    targets = await _targets(report["id"])
    given = await OnReportRating.select(OnReportRating.score, OnReportRating.period).where(
        (OnReportRating.report == report["id"]) & (OnReportRating.day == day))
    due = [p for p in cover if _state(report, p, day) != "later"]
    missing = [p["name"] for p in due
               if sum(1 for g in given if g["period"] == p["id"]) < len(targets)]
    scores = [g["score"] for g in given]
    return {"given": len(given), "due": len(due) * len(targets), "missing": missing,
            "average": round(sum(scores) / len(scores), 1) if scores else None}


async def pupil_panel(actor: Actor, pupil_id: int) -> dict:
    """What the pupil's profile shows: their running report (rate it / open it) and, for the pastoral team, a way
    to put them on report."""
    if not may_rate(actor):
        raise NotFound(NOT_HERE)
    pupil = await _pupil(actor, pupil_id)
    day = today()
    running = await OnReport.select().where(
        (OnReport.pupil == pupil["id"]) & (OnReport.school == actor.school_id) & OnReport.ended_at.is_null()
        & (OnReport.starts_on <= day) & (OnReport.ends_on >= day)).first()
    rating = await rate_page(actor, running["id"]) if running else {}
    return {"pupil": pupil, "report": running, "level": LEVELS[running["level"]] if running else "",
            "targets": rating.get("targets", []), "labels": rating.get("labels", []),
            "period": rating.get("period"), "ratings": rating.get("ratings", {}),
            "sees": bool(running) and await may_see(actor, running, pupil["year_code"], pupil["tutor_group"]),
            "can_start": not running and may_manage(actor) and await _may_act_for(actor, pupil["year_code"])}


# Exports ---------------------------------------------------------------------------------------------------------

CSV_COLUMNS = ["date", "period", "starts", "ends", "target", "rating", "label", "comment", "rated_by"]


async def export_rows(actor: Actor, report_id: int) -> tuple[dict, list[list[Any]]]:
    """Every covered period of every school day so far x every target: the rating, or 'missing' (never 0)."""
    page = await report_page(actor, report_id)
    report, scale = page["report"], page["labels"]
    ratings = await OnReportRating.select(OnReportRating.target, OnReportRating.period, OnReportRating.day,
                                          OnReportRating.score, OnReportRating.comment,
                                          OnReportRating.rated_by.display_name).where(
        OnReportRating.report == report_id)
    found = {(r["day"], r["period"], r["target"]): r for r in ratings}
    rows: list[list[Any]] = []
    for t in page["trend"]:
        for p in page["periods"]:
            state = _state(report, p, t["day"])
            if state == "later":
                continue
            for target in page["targets"]:
                r = found.get((t["day"], p["id"], target["id"]))
                if r:
                    rows.append([t["day"].isoformat(), p["name"], p["starts"], p["ends"], target["text"], r["score"],
                                 scale[r["score"] - 1] if r["score"] <= len(scale) else "", r["comment"],
                                 r["rated_by.display_name"]])
                else:
                    rows.append([t["day"].isoformat(), p["name"], p["starts"], p["ends"], target["text"], "",
                                 "missing" if state == "missing" else "not yet", "", ""])
    await _audit(actor, "on_report.exported", report_id, {"format": "csv"})
    return page, rows


async def pdf(actor: Actor, report_id: int) -> bytes:
    """A one-page summary for a meeting with parents: targets in the pupil's words, the trend, the changes."""
    from app.domain.on_report.pdf import one_page

    page = await report_page(actor, report_id)
    await _audit(actor, "on_report.exported", report_id, {"format": "pdf"})
    return one_page(page)


# For the chronology -------------------------------------------------------------------------------------------------

async def chronology_rows(actor: Actor, pupil_id: int) -> list[dict]:
    """The pupil's reports as chronology lines (at, ref, event, detail, outcome, recorded_by): put on report, each
    change of level and the end, with reasons (the end's outcome: the ratings given of those due and their average);
    only reports the actor may see. The chronology reads them as its "on_report" source; single ratings stay on the
    report."""
    pupil = await _pupil(actor, pupil_id)
    reports = await OnReport.select(OnReport.id, OnReport.school, OnReport.owner, OnReport.visible_to,
                                    OnReport.level, OnReport.starts_on, OnReport.ends_on, OnReport.created_at,
                                    OnReport.ended_at, OnReport.periods, OnReport.owner.display_name).where(
        (OnReport.pupil == pupil["id"]) & (OnReport.school == actor.school_id)).order_by(OnReport.created_at)
    out = []
    by_id: dict[int, dict] | None = None
    for r in reports:
        if not await may_see(actor, r, pupil["year_code"], pupil["tutor_group"]):
            continue
        count = await OnReportTarget.count().where(OnReportTarget.report == r["id"])
        totals = ""
        if r["ended_at"] is not None:
            # The end carries the report's whole record in one line (a missed rating counts as missing, never 0).
            by_id = by_id if by_id is not None else {p["id"]: p for p in await periods(actor.school_id,
                                                                                      with_retired=True)}
            cover = [by_id[i] for i in covered(r) if i in by_id]
            ratings = await OnReportRating.select(OnReportRating.day, OnReportRating.score).where(
                OnReportRating.report == r["id"])
            last = min(r["ends_on"], local(r["ended_at"]).date())
            trend = _trend(r, cover, [{}] * count, ratings, last)
            given = sum(t["given"] for t in trend)
            due = sum(t["due"] for t in trend)
            scores = [x["score"] for x in ratings]
            totals = f"{given} of {due} ratings given" + (
                f" · average {sum(scores) / len(scores):.1f}" if scores else "")
        changes = await OnReportChange.select(OnReportChange.id, OnReportChange.action, OnReportChange.from_level,
                                              OnReportChange.to_level, OnReportChange.reason, OnReportChange.at,
                                              OnReportChange.by.display_name).where(
            OnReportChange.report == r["id"]).order_by(OnReportChange.id)
        first = changes[0]["from_level"] if changes else r["level"]  # the level it was put on at
        out.append({"at": r["created_at"], "ref": f"on_report:{r['id']}:started",
                    "event": f"Put on report: {LEVELS[first]}, {r['starts_on']:%d %b} to {r['ends_on']:%d %b %Y}",
                    "detail": f"{count} target{'s' if count != 1 else ''}", "outcome": "",
                    "recorded_by": r["owner.display_name"]})
        for c in changes:
            what = {"escalated": f"Report escalated to {LEVELS.get(c['to_level'], '')}",
                    "stepped_down": f"Report stepped down to {LEVELS.get(c['to_level'], '')}",
                    "ended": "Report ended"}.get(c["action"], c["action"])
            out.append({"at": c["at"], "ref": f"on_report:{r['id']}:{c['id']}", "event": what,
                        "detail": c["reason"], "outcome": totals if c["action"] == "ended" else "",
                        "recorded_by": c["by.display_name"]})
    return out
