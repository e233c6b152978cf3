"""Behaviour incidents and rewards: quick entry, routing, follow-up, investigations, history, soft delete."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.clock import parse_date
from app.db import parse_id, raw as raw_sql
from app import clock
from app.db import atomic
from app.domain.audit import service as audit
from app.domain.incidents.tables import (
    Category,
    CategoryWatcher,
    FollowUpAction,
    Incident,
    IncidentPupil,
    IncidentVersion,
    Location,
    Statement,
)
from app.domain.notifications import service as notifications
from app.domain.schools.service import Actor, hoy_years
from app.domain.schools.tables import Membership, Person
from app.errors import BadRequest, Forbidden, NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")  # UK schools: times are entered and shown in UK time, stored in UTC
NOTE_LIMIT = 2000
LOGGERS = ("staff", "guest", "responder", "pastoral", "head_of_year", "dsl")
FOLLOWERS = ("pastoral", "head_of_year", "dsl")
DELETERS = ("pastoral", "head_of_year", "dsl")
PUPIL_ROLES = {"instigator": "Instigator", "target": "Target", "witness": "Witness", "involved": "Involved"}
STATUSES = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved"}
ACTIONS = {
    "phone_call_home": "Phone call home", "detention": "Detention", "restorative": "Restorative meeting / mediation",
    "referral": "Referral", "report_card": "Report card", "suspension": "Suspension",
    "permanent_exclusion": "Permanent exclusion", "other": "Other",
}
EXCLUSIONS = ("suspension", "permanent_exclusion")
STATEMENT_KINDS = {"pupil": "Pupil statement", "staff": "Staff statement", "note": "Investigation note"}

# A sensible default set for a UK secondary school; each school changes it on the settings page.
DEFAULT_CATEGORIES = [
    ("negative", "Low-level disruption", 1, -1), ("negative", "Defiance / refusal", 2, -2),
    ("negative", "Late to lesson", 1, -1), ("negative", "Uniform", 1, -1), ("negative", "Phone out", 1, -1),
    ("negative", "Truancy / out of lesson", 2, -2), ("negative", "Verbal abuse", 3, -3),
    ("negative", "Bullying", 3, -5), ("negative", "Discriminatory language", 4, -5),
    ("negative", "Fighting / physical aggression", 4, -5), ("negative", "Damage to property", 3, -3),
    ("negative", "Smoking / vaping", 3, -3),
    ("positive", "Excellent work", 0, 2), ("positive", "Effort", 0, 1), ("positive", "Kindness", 0, 1),
    ("positive", "Helping others", 0, 2), ("positive", "Punctuality", 0, 1), ("positive", "Leadership", 0, 3),
]
# Added after the first schools were set up: ensure_defaults (and a migration, for schools that existed then)
# adds each one a school lacks. Late to school is not late to lesson: before the register closes it is the
# DfE attendance code L (present), after it U (an unauthorised absence for that session).
LATE_TO_SCHOOL = [("negative", "Late to school (before registers close, L)", 1, -1),
                  ("negative", "Late to school (after registers close, U)", 2, -2)]
# A target or a witness gets their own no-points category unless the person logging chooses another.
PART_CATEGORIES = {"target": "Target (no sanction)", "witness": "Witness (no sanction)"}
DEFAULT_LOCATIONS = ["Playground", "Canteen", "Corridor", "Classroom", "Field", "Toilets", "Library", "Main gate",
                     "Sports hall", "Bus stop"]


def _exclusion_codes() -> dict[str, str]:
    path = Path(__file__).resolve().parents[2] / "reference" / "exclusion_reasons.csv"
    with path.open(newline="") as f:
        return {r["code"]: r["description"] for r in csv.DictReader(f)}


EXCLUSION_REASONS = _exclusion_codes()


# Configuration -------------------------------------------------------------------------------------------

async def ensure_defaults(school_id: int) -> None:
    """Give a school the default categories and locations, once; categories added to the defaults later are
    added to a school that lacks them (by name, retired or not), so running it again changes nothing."""
    if not await Category.exists().where(Category.school == school_id):
        await Category.insert(*[Category(school=school_id, kind=k, name=n, severity=s, points=p, position=i)
                                for i, (k, n, s, p) in enumerate(DEFAULT_CATEGORIES)])
    have = await Category.select(Category.name, Category.part).where(Category.school == school_id)
    names, parts = {c["name"] for c in have}, {c["part"] for c in have}
    added = [Category(school=school_id, kind=k, name=n, severity=s, points=p, position=2)
             for k, n, s, p in LATE_TO_SCHOOL if n not in names]
    added += [Category(school=school_id, kind="neutral", name=n, severity=0, points=0, position=900, part=part)
              for part, n in PART_CATEGORIES.items() if part not in parts and n not in names]
    if added:
        await Category.insert(*added)
    if not await Location.exists().where(Location.school == school_id):
        await Location.insert(*[Location(school=school_id, name=n, position=i) for i, n in enumerate(DEFAULT_LOCATIONS)])


# The school's current lists, read on every quick-entry page: fixed statements (building them through Piccolo's
# query builder was 18% of the page's CPU with last_location's, more than the reads themselves).
_CATEGORIES = "SELECT * FROM category WHERE school = {} AND retired_at IS NULL ORDER BY kind, position, id"
_LOCATIONS = "SELECT * FROM location WHERE school = {} AND retired_at IS NULL ORDER BY position, id"


async def categories(school_id: int, *, include_retired: bool = False) -> list[dict]:
    if not include_retired:
        return await raw_sql(Category, _CATEGORIES, school_id)
    return await Category.select().where(Category.school == school_id).order_by(Category.kind).order_by(
        Category.position).order_by(Category.id)


async def locations(school_id: int, *, include_retired: bool = False) -> list[dict]:
    if not include_retired:
        return await raw_sql(Location, _LOCATIONS, school_id)
    return await Location.select().where(Location.school == school_id).order_by(Location.position).order_by(
        Location.id)


def _require_admin(actor: Actor) -> None:
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound()


async def add_category(actor: Actor, *, kind: str, name: str, severity: int, points: int) -> None:
    _require_admin(actor)
    name = " ".join((name or "").split())
    errors = {}
    if kind not in ("negative", "positive"):
        errors["kind"] = "Choose behaviour or reward."
    if not name or len(name) > 80:
        errors["name"] = "Give the category a name of up to 80 characters."
    if kind == "negative" and not (1 <= severity <= 4 and -20 <= points <= 0):
        errors["points"] = "Behaviour has a severity from 1 to 4 and zero or negative points (down to -20)."
    if kind == "positive" and not (0 <= points <= 20):
        errors["points"] = "A reward has zero to 20 points."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        cat = Category(school=actor.school_id, kind=kind, name=name, severity=severity if kind == "negative" else 0,
                       points=points, position=1000)
        await cat.save()
        await audit.record("category.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="category", subject_id=cat.id, subject_label=name,
                           origin=actor.origin)


async def retire_category(actor: Actor, category_id: int) -> None:
    """Retire a category: it is no longer offered, and past records keep it."""
    _require_admin(actor)
    async with atomic():
        rows = await Category.update({Category.retired_at: clock.now()}).where(
            (Category.id == category_id) & (Category.school == actor.school_id) & Category.retired_at.is_null()
        ).returning(Category.name)
        if not rows:
            raise NotFound()
        await audit.record("category.retired", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="category", subject_id=category_id,
                           subject_label=rows[0]["name"], origin=actor.origin)


async def watcher_candidates(actor: Actor) -> list[dict]:
    """Who an admin may name as told about a category: active colleagues at the school (guests are only
    there for a day, so never)."""
    _require_admin(actor)
    rows = await Membership.select(Membership.person.id, Membership.person.display_name, Membership.role).where(
        ((Membership.school == actor.school_id) | ((Membership.trust == actor.trust_id) & Membership.school.is_null()))
        & Membership.person.disabled_at.is_null())
    people: dict[int, dict] = {}
    for r in rows:
        if r["role"] != "guest":
            people[r["person.id"]] = {"id": r["person.id"], "display_name": r["person.display_name"]}
    return sorted(people.values(), key=lambda p: p["display_name"].lower())


async def category_watchers(actor: Actor) -> dict[int, set[int]]:
    """For each of the school's categories, the people it names (told about every incident in it)."""
    _require_admin(actor)
    rows = await CategoryWatcher.select(CategoryWatcher.category, CategoryWatcher.person).where(
        CategoryWatcher.category.school == actor.school_id)
    found: dict[int, set[int]] = {}
    for r in rows:
        found.setdefault(r["category"], set()).add(r["person"])
    return found


def _whole_number(raw: Any) -> int | None:
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


async def edit_category(actor: Actor, category_id: int, *, name: str, severity: str, points: str,
                        watchers: list[str]) -> None:
    """Rename a category, change its severity and points, and who it names (admins only; audited). Past
    incidents keep the points they were given."""
    _require_admin(actor)
    cat = await Category.select().where(
        (Category.id == category_id) & (Category.school == actor.school_id) & Category.retired_at.is_null()).first()
    if not cat:
        raise NotFound()
    name = " ".join((name or "").split())
    errors = {}
    if not name or len(name) > 80:
        errors["name"] = "Name: give the category a name of up to 80 characters."
    level, score = _whole_number(severity), _whole_number(points)
    if cat["kind"] == "negative":
        if level is None or not 1 <= level <= 4:
            errors["severity"] = "Severity: a whole number from 1 (low) to 4 (serious)."
        if score is None or not -20 <= score <= 0:
            errors["points"] = "Points: zero or a negative whole number, down to -20, for behaviour."
    elif cat["kind"] == "positive":
        level = 0
        if score is None or not 0 <= score <= 20:
            errors["points"] = "Points: a whole number from 0 to 20 for a reward."
    else:  # a part (target, witness) never carries points or severity
        level, score = 0, 0
    chosen = {parse_id(w) for w in watchers if str(w).strip()}
    allowed = {p["id"] for p in await watcher_candidates(actor)}
    if None in chosen or not chosen <= allowed:
        errors["watchers"] = "Who is alerted: choose colleagues who work at this school."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        current = {r["person"] for r in await CategoryWatcher.select(CategoryWatcher.person).where(
            CategoryWatcher.category == category_id)}
        changes: dict[str, Any] = {k: {"from": cat[k], "to": v} for k, v in
                                   (("name", name), ("severity", level), ("points", score)) if cat[k] != v}
        added, removed = sorted(chosen - current), sorted(current - chosen)
        if added or removed:
            changes["watchers"] = {"added": added, "removed": removed}
        if not changes:
            return
        await Category.update({Category.name: name, Category.severity: level, Category.points: score}).where(
            Category.id == category_id)
        if removed:
            await CategoryWatcher.delete().where(
                (CategoryWatcher.category == category_id) & CategoryWatcher.person.is_in(removed))
        if added:
            await CategoryWatcher.insert(*[CategoryWatcher(category=category_id, person=p) for p in added])
        await audit.record("category.updated", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="category", subject_id=category_id,
                           subject_label=name, origin=actor.origin, detail=changes)


async def add_location(actor: Actor, name: str) -> None:
    _require_admin(actor)
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise ValidationFailed({"location_name": "Give the location a name of up to 80 characters."})
    async with atomic():
        loc = Location(school=actor.school_id, name=name, position=1000)
        await loc.save()
        await audit.record("location.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="location", subject_id=loc.id, subject_label=name,
                           origin=actor.origin)


async def retire_location(actor: Actor, location_id: int) -> None:
    _require_admin(actor)
    async with atomic():
        rows = await Location.update({Location.retired_at: clock.now()}).where(
            (Location.id == location_id) & (Location.school == actor.school_id) & Location.retired_at.is_null()
        ).returning(Location.name)
        if not rows:
            raise NotFound()
        await audit.record("location.retired", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="location", subject_id=location_id,
                           subject_label=rows[0]["name"], origin=actor.origin)


# Quick entry ---------------------------------------------------------------------------------------------

@dataclass
class IncidentForm:
    """What the quick-entry form sends, as typed (strings), so it can be shown again on error."""

    pupil_ids: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # one per pupil, same order
    category_id: str = ""
    pupil_categories: list[str] = field(default_factory=list)  # optional per-pupil category, "" = the main one
    location_id: str = ""
    occurred_at: str = ""  # "YYYY-MM-DDTHH:MM" in UK time; empty means now
    note: str = ""
    oncall_id: str = ""  # the on-call request this incident came out of, linked when it is saved


def can_log(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*LOGGERS)


def local_now() -> dt.datetime:
    return clock.now().astimezone(LONDON)


def parse_local_time(raw: str) -> dt.datetime:
    """'2026-11-24T10:15' in UK time → an aware UTC datetime (raises ValueError)."""
    naive = dt.datetime.fromisoformat(raw.strip())
    if parse_date(naive.date().isoformat()) is None:
        raise ValueError("out of range")  # 0001-01-01 in another zone would overflow converting to UTC
    if naive.tzinfo is not None:
        return naive.astimezone(dt.timezone.utc)
    return naive.replace(tzinfo=LONDON).astimezone(dt.timezone.utc)


def _to_int(raw: Any) -> int | None:
    return parse_id(raw)


# What a submitted incident is checked against, in one statement: of the school's categories in use, the ones
# chosen and the part categories (a target's or witness's), the chosen location if it is in use, and which of the
# chosen pupils are on roll here (with their year and form, for routing and the alert). Only these rows: reading
# the school's whole lists on every entry was most of the rows, and of the CPU, of this statement.
_CHOICES = """SELECT 'category' AS list, id, kind, name, points, part, position, '' AS year_code, '' AS form
FROM category WHERE school = {} AND retired_at IS NULL AND (part != '' OR id IN (%s))
UNION ALL SELECT 'location', id, '', name, 0, '', position, '', '' FROM location
WHERE school = {} AND retired_at IS NULL AND id = {}"""
_CHOICES_PUPILS = """
UNION ALL SELECT 'pupil', p.id, '', '', 0, '', 0, p.year_code, COALESCE(tg.name, '') FROM pupil p
LEFT JOIN tutor_group tg ON tg.id = p.tutor_group WHERE p.school = {} AND p.left_on IS NULL AND p.id IN ("""
# And, for a new entry, everyone it might be routed to (see _recipients), in the same statement: the school's
# pastoral team and heads of year (with the years they lead, as year_code) and whoever watches one of the chosen
# categories (the category as position), leaving out anyone disabled. A statement fewer on every entry.
_CHOICES_PEOPLE = """
UNION ALL SELECT 'person', m.person, m.role, '', 0, '', 0, m.years, '' FROM membership m JOIN person p ON p.id = m.person
WHERE m.school = {} AND m.role IN ('pastoral', 'head_of_year') AND p.disabled_at IS NULL
UNION ALL SELECT 'person', w.person, 'watcher', '', 0, '', w.category, '', '' FROM category_watcher w
JOIN person p ON p.id = w.person WHERE w.category IN (%s) AND p.disabled_at IS NULL"""


async def _choices(school_id: int, pupil_ids: list[int], category_ids: list[int], location_id: int | None,
                   *, people: bool = False) -> tuple[dict[int, dict], dict[int, str], dict[int, dict], list[dict]]:
    """(categories by id, location names by id, the pupils found by id, the people to route to) for validating an
    incident: the chosen categories and every part category, the chosen location, the chosen pupils, where they
    are this school's, and with `people` those an entry may be routed to."""
    wanted = sorted(set(category_ids)) or [0]
    placeholders = ", ".join("{}" for _ in wanted)
    sql = _CHOICES % placeholders  # nosec B608  # placeholders only
    args = [school_id, *wanted, school_id, location_id or 0]
    if pupil_ids:
        sql += _CHOICES_PUPILS + ", ".join("{}" for _ in pupil_ids) + ")"
        args += [school_id, *pupil_ids]
    if people:
        sql += _CHOICES_PEOPLE % placeholders  # nosec B608  # placeholders only
        args += [school_id, *wanted]
    # The categories' order is categories()'s, so the same one wins where two name the same part.
    rows = await raw_sql(Category, sql + "\nORDER BY list, kind, position, id", *args)  # nosec B608  # placeholders only
    cats = {r["id"]: r for r in rows if r["list"] == "category"}
    places = {r["id"]: r["name"] for r in rows if r["list"] == "location"}
    found = {r["id"]: {"year_code": r["year_code"], "tutor_group.name": r["form"]} for r in rows if r["list"] == "pupil"}
    routed = [{"person": r["id"], "role": r["kind"], "years": r["year_code"] or "", "category": r["position"]}
              for r in rows if r["list"] == "person"]
    return cats, places, found, routed


async def _validate(actor: Actor, form: IncidentForm, *, route: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    pupil_ids = [_to_int(p) for p in form.pupil_ids]
    readable = None not in pupil_ids and len(set(pupil_ids)) == len(pupil_ids)
    category_id = _to_int(form.category_id)
    chosen = [c for c in [category_id, *(_to_int(c) for c in form.pupil_categories if c)] if c is not None]
    cats, places, found, people = await _choices(
        actor.school_id, [p for p in pupil_ids if p is not None] if readable else [], chosen,
        _to_int(form.location_id) if form.location_id else None, people=route)
    every_own = bool(form.pupil_ids) and len([c for c in form.pupil_categories if c]) == len(form.pupil_ids)
    # A part category (target, witness) says who someone was, not what happened: it is never the main choice,
    # unless every pupil has their own category anyway (an edit, which sends each pupil's).
    if category_id not in cats or (cats[category_id]["kind"] == "neutral" and not every_own):
        errors["category"] = "Choose what happened from the list."
    by_part = {c["part"]: c["id"] for c in cats.values() if c["part"]}

    links = []
    if not pupil_ids:
        errors["pupils"] = "Choose at least one pupil."
    elif not readable:
        errors["pupils"] = "A pupil was chosen twice or could not be read. Choose the pupils again."
    else:
        if len(found) != len(pupil_ids):
            errors["pupils"] = "One of the pupils chosen is not on roll at this school. Choose them again."
        for i, pid in enumerate(pupil_ids):
            role = form.roles[i] if i < len(form.roles) else ""
            if role not in PUPIL_ROLES:
                errors["pupils"] = "Choose each pupil's part in what happened (instigator, target, witness or involved)."
            own = _to_int(form.pupil_categories[i]) if i < len(form.pupil_categories) and form.pupil_categories[i] else None
            if own is not None and own not in cats:
                errors["pupils"] = "A category chosen for one pupil is not in this school's list."
            if own is None:
                # The part decides the consequence: a target or witness does not take the fight's points.
                own = by_part.get(role)
            links.append({"pupil": pid, "role": role, "category": own or category_id,
                          "year": found.get(pid, {}).get("year_code", ""),
                          "form": found.get(pid, {}).get("tutor_group.name") or ""})

    location_id = _to_int(form.location_id) if form.location_id else None
    if form.location_id and location_id not in places:
        errors["location"] = "Choose a location from this school's list."

    if form.occurred_at.strip():
        try:
            occurred_at = parse_local_time(form.occurred_at)
        except ValueError:
            errors["occurred_at"] = "Enter the date and time like 24/11/2026 10:15."
            occurred_at = clock.now()
        else:
            if occurred_at > clock.now() + dt.timedelta(minutes=5):
                errors["occurred_at"] = "The time can't be in the future."
            elif occurred_at < clock.now() - dt.timedelta(days=60):
                errors["occurred_at"] = "That is more than 60 days ago. Check the date."
    else:
        occurred_at = clock.now()

    note = form.note.strip()
    if len(note) > NOTE_LIMIT:
        errors["note"] = f"Keep the note to {NOTE_LIMIT:,} characters (it has {len(note):,})."
    if errors:
        raise ValidationFailed(errors)
    return {"links": links, "location_id": location_id, "place": places.get(location_id, ""),
            "occurred_at": occurred_at, "note": note, "cats": cats,
            "oncall_id": _to_int(form.oncall_id) if form.oncall_id else None,
            "recipients": _recipients(actor, links, cats, people) if route else set()}


@notifications.releases_claim
async def record_incident(actor: Actor, form: IncidentForm, *, key: str | None = None, digest: str = "",
                          route: bool = True) -> int:
    """Log an incident or reward for one or more pupils; returns its id. The same key again returns the same id.
    route=False tells nobody (lates at the gate: a morning brings dozens, read from today's list instead)."""
    if not can_log(actor):
        raise NotFound()
    if key and not form.oncall_id and notifications.writes_in_one_statement():
        answered = await _record_in_one_statement(actor, form, key, digest, route)
        if answered is not None:
            return answered
        # The key is held by a claim row an older version wrote: the way below answers 409 while it is fresh and
        # takes it over after its lease.
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])["incident"]
    # Who is told is read with the choices, before the write transaction, so SQLite's write lock is held for
    # writes only.
    valid = await _validate(actor, form, route=route)

    async def write() -> tuple[dict, list]:
        incident_id, pending = await _insert_incident(actor, valid)
        return {"incident": incident_id}, pending

    return (await notifications.answer_once(actor, key, digest, write))["incident"]


# The incident POST is the busiest write (a lesson change brings a burst of them): its rows go in as a few
# statements with every value a parameter, not an ORM object and a statement per row.
_INSERT_INCIDENT = """INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, version, outcome,
                      deleted_at, deleted_by, deleted_reason)
VALUES ({}, {}, {}, {}, {}, {}, 1, '', NULL, NULL, '') RETURNING id"""
_INSERT_PUPILS = """INSERT INTO incident_pupil (incident, pupil, role, category, points, status, exclusion_reasons,
                            updated_at) VALUES """


async def _insert_incident(actor: Actor, valid: dict[str, Any]) -> tuple[int, list]:
    now = clock.now()
    incident_id = (await raw_sql(Incident, _INSERT_INCIDENT, actor.school_id, valid["location_id"], valid["occurred_at"],
                                      valid["note"], actor.person_id, now))[0]["id"]
    cats = valid["cats"]
    args: list[Any] = []
    for link in valid["links"]:
        category = cats[link["category"]]
        # Behaviour starts open; a reward, or a target's or witness's no-sanction part, needs no follow-up.
        status = "open" if category["kind"] == "negative" else "resolved"
        args += [incident_id, link["pupil"], link["role"], link["category"], category["points"], status, "", now]
    rows = ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in valid["links"])
    await raw_sql(IncidentPupil, _INSERT_PUPILS + rows, *args)  # nosec B608  # only placeholders are formatted in
    await audit.record("incident.created", actor_id=actor.person_id, actor_label=actor.label,
                       school_id=actor.school_id, subject_type="incident", subject_id=incident_id, origin=actor.origin,
                       detail={"pupils": len(valid["links"])})
    pending = []
    recipients = valid["recipients"]
    if recipients:
        pending = await notifications.notify(recipients, school_id=actor.school_id, kind="incident.routed",
                                             text=alert_text(valid), link=f"/incidents/{incident_id}")
    if valid.get("oncall_id"):
        from app.domain.oncall.tables import OnCallRequest

        # Linked only by the responder who resolved it, at this school.
        await OnCallRequest.update({OnCallRequest.incident: incident_id}).where(
            (OnCallRequest.id == valid["oncall_id"]) & (OnCallRequest.school == actor.school_id)
            & (OnCallRequest.responder == actor.person_id) & OnCallRequest.incident.is_null())
    return incident_id, pending


async def _record_in_one_statement(actor: Actor, form: IncidentForm, key: str, digest: str,
                                   route: bool) -> int | None:
    """PostgreSQL: the incident, its pupils, its audit entry, its alert and recipients and the key's receipt in one
    statement (a data-modifying WITH, atomic as a transaction is), after one read for the form's choices. Each
    statement is a round trip through the event loop and PostgreSQL, and BEGIN and COMMIT are two more: 10 round
    trips became 3 with the session's (issue 12). The key is claimed in memory without reading its receipt first;
    a retry of an entry already saved is refused by the receipt's unique index (or by the form's checks, if the
    school's lists changed since) and then answered as the first attempt was. None: refused by a claim row with no
    answer, left by an older version (the caller goes the usual way)."""
    notifications.claim_without_reading(actor, key, digest)
    try:
        valid = await _validate(actor, form, route=route)
    except ValidationFailed:
        if stored := await notifications.answer_if_stored(actor, key, digest):
            return json.loads(stored["body"])["incident"]
        raise
    sql, args = _one_statement_write(actor, valid, key, digest)
    try:
        row = (await raw_sql(Incident, sql, *args))[0]
    except Exception as exc:
        if "unique" not in str(exc).lower():
            raise
        stored = await notifications.answer_if_stored(actor, key, digest)
        return json.loads(stored["body"])["incident"] if stored else None
    await notifications.deliver([(person, sent, actor.school_id)
                                 for person, sent in zip(row["people"] or [], row["sent"] or [])])
    return row["id"]


def _one_statement_write(actor: Actor, valid: dict[str, Any], key: str, digest: str) -> tuple[str, list[Any]]:
    """The statement `_record_in_one_statement` sends, and its values: the rows `_insert_incident`, `audit.record`,
    `notifications.notify` and `store_receipt` write, the same columns and values."""
    now = clock.now()
    cats = valid["cats"]
    links = valid["links"]
    statuses = ["open" if cats[link["category"]]["kind"] == "negative" else "resolved" for link in links]
    parts = ["made AS (INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, version, "
             "outcome, deleted_at, deleted_by, deleted_reason) VALUES ({}::integer, {}::integer, {}::timestamptz, "
             "{}::text, {}::integer, {}::timestamptz, 1, '', NULL, NULL, '') RETURNING id)",
             "pupils AS (INSERT INTO incident_pupil (incident, pupil, role, category, points, status, "
             "exclusion_reasons, updated_at) SELECT made.id, part.pupil, part.role, part.category, part.points, "
             "part.status, '', {}::timestamptz FROM made, unnest({}::integer[], {}::varchar[], {}::integer[], "
             "{}::integer[], {}::varchar[]) AS part(pupil, role, category, points, status))"]
    args: list[Any] = [actor.school_id, valid["location_id"], valid["occurred_at"], valid["note"], actor.person_id, now,
                       now, [link["pupil"] for link in links], [link["role"] for link in links],
                       [link["category"] for link in links], [cats[link["category"]]["points"] for link in links],
                       statuses]
    event = audit.new_event("incident.created", actor_id=actor.person_id, actor_label=actor.label,
                            school_id=actor.school_id, subject_type="incident", origin=actor.origin,
                            detail={"pupils": len(links)})
    entry, values = audit.postgres_entry(event, subject_id_sql="made.id::text", source="made")
    parts.append(f"entry AS ({entry})")
    args += values
    alert, values = notifications.postgres_alert(valid["recipients"], school_id=actor.school_id, kind="incident.routed",
                                                 text=alert_text(valid), link_sql="'/incidents/' || made.id",
                                                 source="made")
    parts += alert
    args += values
    receipt, values = notifications.postgres_receipt(
        actor, key, digest, body_sql="json_build_object('incident', made.id)::text", source="made")
    parts.append(f"receipt AS ({receipt})")
    args += values
    # Only this module's, audit's and notifications' constant parts are joined; every value is a placeholder.
    sql = ("WITH " + ",\n".join(parts) + "\nSELECT made.id, (SELECT array_agg(person ORDER BY id) FROM alert_sent) "  # nosec B608
           "AS people, (SELECT array_agg(id ORDER BY id) FROM alert_sent) AS sent FROM made")
    return sql, args


def alert_text(valid: dict[str, Any]) -> str:
    """What an incident alert says: the behaviour, the forms and the place, never a pupil's name (an alert is
    seen on a lock screen and in a list over someone's shoulder)."""
    cats = valid["cats"]
    what = list(dict.fromkeys(cats[link["category"]]["name"] for link in valid["links"]
                              if cats[link["category"]]["kind"] == "negative"))
    forms = list(dict.fromkeys(link["form"] for link in valid["links"] if link["form"]))
    parts = [", ".join(what), ", ".join(forms) or "no form", valid["place"] or "place not recorded"]
    return " · ".join(parts) + ": needs follow-up."


def _recipients(actor: Actor, links: list[dict], cats: dict[int, dict], people: list[dict]) -> set[int]:
    """The pupil's head of year and the pastoral team, and anyone the category names (never the recorder), of the
    people `_choices` read. A target's head of year is told too: their pupil was hurt, though their part needs no
    sanction."""
    negative = [link for link in links if cats[link["category"]]["kind"] == "negative"]
    if not negative:
        return set()
    watched = {link["category"] for link in negative}
    years = {link["year"] for link in links if link in negative or link["role"] == "target"}
    told = {r["person"] for r in people if r["role"] == "pastoral"
            or (r["role"] == "watcher" and r["category"] in watched)
            or (r["role"] == "head_of_year" and (not r["years"] or years & set(r["years"].split(","))))}
    return told - {actor.person_id}


async def last_location(actor: Actor) -> int | None:
    """The location this person used last, offered first next time."""
    # Newest by recorded_at alone, which incident_recorded_by_recorded_at gives in order: the first row of its
    # walk backwards (0.02 ms). Ordered by id, PostgreSQL gathered and sorted all the person's incidents (1 ms for
    # 700 of them, on every quick-entry page).
    rows = await raw_sql(Incident, "SELECT location FROM incident WHERE recorded_by = {} AND school = {} "
                                   "AND location IS NOT NULL ORDER BY recorded_at DESC LIMIT 1",
                         actor.person_id, actor.school_id)
    return rows[0]["location"] if rows else None


# The pupils a person logged since a time, each once, the most recently logged first: at most `limit`, chosen by
# the database from the person's last 100 entries (walked newest first on incident_recorded_by_recorded_at, and
# stopped there). It read every row of the person's day and kept ten in Python: a morning of lates at the gate is
# hundreds, and in the trust benchmark it was 1.6 ms of PostgreSQL's time on each quick-entry page (planning a
# four-table join included). tests/incidents/test_follow_up_plan.py checks the plan uses the index.
_LOGGED_SINCE = """SELECT p.id, p.preferred_first_name, p.legal_first_name, p.legal_last_name, p.preferred_last_name,
       (SELECT name FROM tutor_group WHERE id = p.tutor_group) AS form
FROM (SELECT ip.pupil, MAX(ip.id) AS latest
      FROM (SELECT id FROM incident WHERE recorded_by = {} AND school = {} AND recorded_at >= {} AND deleted_at IS NULL
            ORDER BY recorded_at DESC LIMIT 100) AS recent
      JOIN incident_pupil ip ON ip.incident = recent.id
      GROUP BY ip.pupil ORDER BY latest DESC LIMIT {}) AS logged
JOIN pupil p ON p.id = logged.pupil
ORDER BY logged.latest DESC"""


def _logged_since(actor: Actor, start: dt.datetime, limit: int = 10) -> tuple[str, list[Any]]:
    return _LOGGED_SINCE, [actor.person_id, actor.school_id, start, limit]


async def logged_today(actor: Actor) -> list[dict]:
    """Pupils this person logged today (UK day), for one-tap re-selection."""
    start = local_now().replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.timezone.utc)
    sql, args = _logged_since(actor, start)
    return [{"id": r["id"], "tutor_group": r["form"] or "",
             "name": f"{r['preferred_first_name'] or r['legal_first_name']} "
                     f"{r['preferred_last_name'] or r['legal_last_name']}"}
            for r in await raw_sql(IncidentPupil, sql, *args)]


# Viewing and following up --------------------------------------------------------------------------------

async def _follows(actor: Actor, link: dict) -> bool:
    """May this actor follow up this pupil's part in an incident?"""
    if actor.has("pastoral", "dsl"):
        return True
    if actor.has("head_of_year"):
        years = await hoy_years(actor)
        if years is None or link["pupil.year_code"] in years:
            return True
    return await CategoryWatcher.exists().where(
        (CategoryWatcher.category == link["category"]) & (CategoryWatcher.person == actor.person_id))


async def _incident(actor: Actor, incident_id: int) -> dict:
    row = await Incident.select().where(
        (Incident.id == incident_id) & (Incident.school == actor.school_id) & Incident.deleted_at.is_null()).first()
    if not row or actor.school_id is None:
        raise NotFound("There is nothing here, or you do not have access to it.")
    return row


# An incident's pupils with their categories, names and forms. The category and form are looked up per row, not
# joined: PostgreSQL's statistics put 49 rows on an incident (its sample of a column filled in order sees too few
# distinct values; there are 1-6), so the plan it keeps for this prepared statement hashed the whole category
# table for every incident shown (0.33 ms on each quick-entry confirmation and incident page, for one or two rows).
_LINKS = """SELECT ip.id, ip.role, ip.status, ip.points, ip.category, ip.exclusion_reasons,
       (SELECT name FROM category WHERE id = ip.category) AS "category.name",
       (SELECT kind FROM category WHERE id = ip.category) AS "category.kind",
       p.id AS "pupil.id", p.preferred_first_name AS "pupil.preferred_first_name",
       p.legal_first_name AS "pupil.legal_first_name", p.legal_last_name AS "pupil.legal_last_name",
       p.preferred_last_name AS "pupil.preferred_last_name", p.year_code AS "pupil.year_code",
       (SELECT name FROM tutor_group WHERE id = p.tutor_group) AS "pupil.tutor_group.name"
FROM incident_pupil ip LEFT JOIN pupil p ON p.id = ip.pupil
WHERE ip.incident = {} ORDER BY ip.id"""


async def _links(incident_id: int) -> list[dict]:
    return await raw_sql(IncidentPupil, _LINKS, incident_id)


def _name(r: dict, prefix: str = "pupil.") -> str:
    return (f"{r[prefix + 'preferred_first_name'] or r[prefix + 'legal_first_name']} "
            f"{r[prefix + 'preferred_last_name'] or r[prefix + 'legal_last_name']}")


async def view_incident(actor: Actor, incident_id: int) -> dict[str, Any]:
    """An incident as this actor may see it: its recorder, or those who follow up one of its pupils."""
    incident = await _incident(actor, incident_id)
    links = await _links(incident_id)
    followed = [link for link in links if await _follows(actor, link)]
    if incident["recorded_by"] != actor.person_id and not followed:
        raise NotFound("There is nothing here, or you do not have access to it.")
    followed_ids = {link["id"] for link in followed}
    for link in links:
        link["name"] = _name(link)
        link["followed"] = link["id"] in followed_ids
        link["actions"] = await FollowUpAction.select(
            FollowUpAction.action, FollowUpAction.note, FollowUpAction.at, FollowUpAction.by.display_name,
        ).where(FollowUpAction.incident_pupil == link["id"]).order_by(FollowUpAction.id)
    location = await Location.select(Location.name).where(Location.id == incident["location"]).first() \
        if incident["location"] else None
    recorder = await Person.select(Person.display_name).where(Person.id == incident["recorded_by"]).first()
    statements = await Statement.select(
        Statement.id, Statement.kind, Statement.from_name, Statement.body, Statement.at, Statement.author.display_name,
    ).where(Statement.incident == incident_id).order_by(Statement.id) if followed else []
    history = await IncidentVersion.select(
        IncidentVersion.version, IncidentVersion.snapshot, IncidentVersion.changed_at,
        IncidentVersion.changed_by.display_name,
    ).where(IncidentVersion.incident == incident_id).order_by(IncidentVersion.version, ascending=False)
    for h in history:
        h["before"] = json.loads(h["snapshot"])
    return {**incident, "links": links, "location_name": location["name"] if location else "",
            "recorder": recorder["display_name"] if recorder else "", "statements": statements, "history": history,
            "can_follow": bool(followed), "can_delete": actor.has(*DELETERS) and bool(followed),
            "can_edit": incident["recorded_by"] == actor.person_id or bool(followed)}


FOLLOW_UP_PAGE = 50

# One statement for a page of the follow-up list: who may follow up each row (every pupil for pastoral staff and
# the DSL, the head of year's years, the categories this person watches) is decided in the WHERE clause, not
# by a statement per row. It walks the school's live incidents newest first (incident_school_occurred_at),
# looks up each one's open items (incident_pupil_open) and stops after a page. CROSS JOIN keeps that order on
# SQLite, whose planner otherwise starts from every open item of every school and sorts them all (for
# PostgreSQL it is an inner join like any other). The cursor is the last row's own id: the next page starts
# strictly after it in the same (occurred_at, id) order, and a cursor from another school finds no row, so
# that page is empty. tests/incidents/test_follow_up_plan.py checks both databases' plans.
_FOLLOW_UP_SQL = """
SELECT ip.id, ip.role, ip.status, ip.category, c.name AS category_name, c.severity AS category_severity,
       i.id AS incident_id, i.occurred_at, p.id AS pupil_id, p.preferred_first_name, p.legal_first_name,
       p.legal_last_name, p.preferred_last_name, p.year_code, tg.name AS tutor_group_name
FROM incident i
CROSS JOIN incident_pupil ip
JOIN pupil p ON p.id = ip.pupil
JOIN category c ON c.id = ip.category
LEFT JOIN tutor_group tg ON tg.id = p.tutor_group
WHERE ip.incident = i.id AND i.school = {} AND i.deleted_at IS NULL AND ip.status IN ('open', 'in_progress')"""
_FOLLOW_UP_AFTER = """
  AND i.occurred_at <= (SELECT ci.occurred_at FROM incident_pupil cp JOIN incident ci ON ci.id = cp.incident
                        WHERE cp.id = {} AND ci.school = {})
  AND (i.occurred_at < (SELECT ci.occurred_at FROM incident_pupil cp JOIN incident ci ON ci.id = cp.incident
                        WHERE cp.id = {} AND ci.school = {}) OR ip.id < {})"""
# PostgreSQL: the cursor's time is read first and given as a value, not a subquery, and the bound is written on
# (school, occurred_at) together, which only incident_school_occurred_at can serve. With a subquery, or a bound on
# occurred_at alone, its planner could walk every school's incidents by time (incident_occurred_at) instead.
_FOLLOW_UP_AFTER_AT = """
  AND (i.school, i.occurred_at) <= ({}, {}) AND (i.occurred_at < {} OR ip.id < {})"""
_CURSOR_AT = """SELECT ci.occurred_at FROM incident_pupil cp JOIN incident ci ON ci.id = cp.incident
WHERE cp.id = {} AND ci.school = {}"""
_FOLLOW_UP_ORDER = """
ORDER BY i.occurred_at DESC, ip.id DESC
LIMIT {}"""


def _follow_up_query(school_id: int, *, years: set[str] | None, watcher: int | None, before: int | None,
                     limit: int, before_at: Any = None) -> tuple[str, list[Any]]:
    """The SQL and arguments for one page: years None means every pupil; watcher adds that person's categories;
    before_at, when known (PostgreSQL), is the time of the cursor's row."""
    sql, args = _FOLLOW_UP_SQL, [school_id]
    if years is not None:
        scopes = []
        if years:
            scopes.append(f"p.year_code IN ({', '.join('{}' for _ in years)})")
            args += sorted(years)
        if watcher is not None:
            scopes.append("ip.category IN (SELECT cw.category FROM category_watcher cw WHERE cw.person = {})")
            args.append(watcher)
        sql += f"\n  AND ({' OR '.join(scopes) or 'FALSE'})"
    if before is not None and before_at is not None:
        sql += _FOLLOW_UP_AFTER_AT
        args += [school_id, before_at, before_at, before]
    elif before is not None:
        sql += _FOLLOW_UP_AFTER
        args += [before, school_id, before, school_id, before]
    return sql + _FOLLOW_UP_ORDER, args + [limit]


async def _cursor_at(school_id: int, before: int) -> Any:
    """The time of a follow-up cursor's row at this school (None if it is not one of this school's rows)."""
    rows = await raw_sql(IncidentPupil, _CURSOR_AT, before, school_id)
    return rows[0]["occurred_at"] if rows else None


async def follow_up_list(actor: Actor, *, before: int | None = None, limit: int = FOLLOW_UP_PAGE) -> dict[str, Any]:
    """A page of open and in-progress behaviour for the pupils this actor follows up, newest first: its rows,
    and the cursor of the next (older) page, None on the last. `before` is the cursor of the page wanted."""
    if actor.school_id is None:
        raise NotFound()
    watcher: int | None = actor.person_id
    if actor.has("pastoral", "dsl"):
        years: set[str] | None = None
    elif actor.has("head_of_year"):
        years = await hoy_years(actor)
    elif await CategoryWatcher.exists().where(CategoryWatcher.person == actor.person_id):
        years = set()
    else:
        raise NotFound()
    before_at = None
    if before is not None and IncidentPupil._meta.db.engine_type == "postgres":
        before_at = await _cursor_at(actor.school_id, before)
        if before_at is None:  # a cursor from another school (or gone): an empty page, as on SQLite
            return {"rows": [], "next": None}
    sql, args = _follow_up_query(actor.school_id, years=years, watcher=watcher, before=before, limit=limit + 1,
                                 before_at=before_at)
    rows = await raw_sql(IncidentPupil, sql, *args)
    out = []
    for r in rows[:limit]:
        out.append({
            "id": r["id"], "role": r["role"], "status": r["status"], "category": r["category"],
            "category.name": r["category_name"], "category.severity": r["category_severity"],
            "incident.id": r["incident_id"], "incident.occurred_at": _moment(r["occurred_at"]),
            "pupil.id": r["pupil_id"], "pupil.year_code": r["year_code"], "pupil.tutor_group.name": r["tutor_group_name"],
            "name": (f"{r['preferred_first_name'] or r['legal_first_name']} "
                     f"{r['preferred_last_name'] or r['legal_last_name']}"),
        })
    return {"rows": out, "next": out[-1]["id"] if len(rows) > limit else None}


def _moment(value: Any) -> dt.datetime:
    # A raw query on SQLite may hand back the stored text rather than a datetime (no declared type to convert).
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


async def _followed_link(actor: Actor, link_id: int) -> dict:
    row = await IncidentPupil.select(
        IncidentPupil.id, IncidentPupil.status, IncidentPupil.category, IncidentPupil.incident,
        IncidentPupil.pupil.year_code,
    ).where((IncidentPupil.id == link_id) & (IncidentPupil.incident.school == actor.school_id)
            & IncidentPupil.incident.deleted_at.is_null()).first()
    if not row or not await _follows(actor, row):
        raise NotFound("There is nothing here, or you do not have access to it.")
    return row


async def set_status(actor: Actor, link_id: int, status: str) -> int:
    """Move one pupil's follow-up to open, in progress or resolved; returns the incident id."""
    link = await _followed_link(actor, link_id)
    if status not in STATUSES:
        raise ValidationFailed({"status": "Choose open, in progress or resolved."})
    async with atomic():
        await IncidentPupil.update({IncidentPupil.status: status, IncidentPupil.updated_at: clock.now()}).where(
            IncidentPupil.id == link_id)
        await audit.record("incident.status_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="incident", subject_id=link["incident"],
                           origin=actor.origin, detail={"from": link["status"], "to": status, "link": link_id})
    return link["incident"]


async def record_action(actor: Actor, link_id: int, action: str, note: str, reasons: list[str]) -> int:
    """Record what was done (who, what, when); an exclusion needs one to three census reason codes."""
    link = await _followed_link(actor, link_id)
    errors = {}
    if action not in ACTIONS:
        errors["action"] = "Choose what was done."
    reasons = [r for r in dict.fromkeys(r.strip().upper() for r in reasons) if r]
    if action in EXCLUSIONS:
        if not 1 <= len(reasons) <= 3:
            errors["reasons"] = "A suspension or exclusion needs one to three reasons."
        elif any(r not in EXCLUSION_REASONS for r in reasons):
            errors["reasons"] = "Use the reason codes from the list."
    elif reasons:
        errors["reasons"] = "Reasons are only recorded for a suspension or exclusion."
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        errors["action_note"] = f"Keep the note to {NOTE_LIMIT:,} characters."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        await FollowUpAction.insert(FollowUpAction(incident_pupil=link_id, action=action, note=note, by=actor.person_id,
                                                   at=clock.now()))
        changes = {IncidentPupil.updated_at: clock.now()}
        if link["status"] == "open":
            changes[IncidentPupil.status] = "in_progress"
        if reasons:
            changes[IncidentPupil.exclusion_reasons] = ",".join(reasons)
        await IncidentPupil.update(changes).where(IncidentPupil.id == link_id)
        await audit.record("incident.action_recorded", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="incident", subject_id=link["incident"],
                           origin=actor.origin, detail={"action": action, "link": link_id, "reasons": reasons})
    return link["incident"]


async def add_statement(actor: Actor, incident_id: int, kind: str, from_name: str, body: str) -> None:
    """Attach a written statement or an investigation note to an incident."""
    detail = await view_incident(actor, incident_id)
    if not detail["can_follow"]:
        raise NotFound()
    errors = {}
    if kind not in STATEMENT_KINDS:
        errors["kind"] = "Choose a pupil statement, a staff statement or an investigation note."
    from_name = " ".join((from_name or "").split())
    if kind in ("pupil", "staff") and not from_name:
        errors["from_name"] = "Say who the statement is from."
    body = (body or "").strip()
    if not body:
        errors["body"] = "Write the statement."
    elif len(body) > 20_000:
        errors["body"] = "Keep a statement to 20,000 characters."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        st = Statement(incident=incident_id, kind=kind, from_name=from_name[:200], body=body, author=actor.person_id,
                       at=clock.now())
        await st.save()
        await audit.record("incident.statement_added", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="incident", subject_id=incident_id,
                           origin=actor.origin, detail={"kind": kind})


def _snapshot(incident: dict, links: list[dict], location_name: str) -> str:
    return json.dumps({
        "occurred_at": incident["occurred_at"].isoformat(), "location": location_name, "note": incident["note"],
        "outcome": incident["outcome"],
        "pupils": [{"name": _name(link), "role": link["role"], "category": link["category.name"]} for link in links],
    }, sort_keys=True)


async def edit_incident(actor: Actor, incident_id: int, *, version: str, occurred_at: str, location_id: str,
                        note: str, outcome: str, roles: dict[int, str], link_categories: dict[int, str]) -> None:
    """Change an incident, keeping the previous version as history; a stale form is refused."""
    detail = await view_incident(actor, incident_id)
    if not detail["can_edit"]:
        raise NotFound()
    if str(detail["version"]) != str(version).strip():
        raise ValidationFailed({"version": "Someone else changed this incident while you were editing. "
                                           "Check the latest version below and make your change again."})
    form = IncidentForm(pupil_ids=[str(link["pupil.id"]) for link in detail["links"]],
                        roles=[roles.get(link["id"], link["role"]) for link in detail["links"]],
                        category_id=str(detail["links"][0]["category"]),
                        pupil_categories=[link_categories.get(link["id"], str(link["category"])) for link in detail["links"]],
                        location_id=location_id, occurred_at=occurred_at, note=note)
    valid = await _validate(actor, form)
    outcome = (outcome or "").strip()
    if len(outcome) > NOTE_LIMIT:
        raise ValidationFailed({"outcome": f"Keep the outcome to {NOTE_LIMIT:,} characters."})
    cats = valid["cats"]
    async with atomic():
        bumped = await Incident.update({
            Incident.version: detail["version"] + 1, Incident.occurred_at: valid["occurred_at"],
            Incident.location: valid["location_id"], Incident.note: valid["note"], Incident.outcome: outcome,
        }).where((Incident.id == incident_id) & (Incident.version == detail["version"])).returning(Incident.id)
        if not bumped:
            raise ValidationFailed({"version": "Someone else changed this incident while you were editing."})
        await IncidentVersion.insert(IncidentVersion(
            incident=incident_id, version=detail["version"], snapshot=_snapshot(detail, detail["links"],
                                                                               detail["location_name"]),
            changed_by=actor.person_id, changed_at=clock.now()))
        for link, new in zip(detail["links"], valid["links"]):
            if new["role"] != link["role"] or new["category"] != link["category"]:
                await IncidentPupil.update({
                    IncidentPupil.role: new["role"], IncidentPupil.category: new["category"],
                    IncidentPupil.points: cats[new["category"]]["points"], IncidentPupil.updated_at: clock.now(),
                }).where(IncidentPupil.id == link["id"])
        await audit.record("incident.edited", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="incident", subject_id=incident_id,
                           origin=actor.origin, detail={"version": detail["version"] + 1})


async def delete_incident(actor: Actor, incident_id: int, reason: str) -> None:
    """Soft delete, with a reason, by a pastoral lead, head of year or DSL who follows it up."""
    detail = await view_incident(actor, incident_id)
    if not detail["can_delete"]:
        raise Forbidden("Only a pastoral lead, head of year or DSL who follows this incident up can delete it.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why this incident is being deleted."})
    async with atomic():
        await Incident.update({Incident.deleted_at: clock.now(), Incident.deleted_by: actor.person_id,
                               Incident.deleted_reason: reason[:NOTE_LIMIT]}).where(Incident.id == incident_id)
        await audit.record("incident.deleted", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="incident", subject_id=incident_id,
                           origin=actor.origin, detail={"reason": reason[:300]})


UNDO_WINDOW = dt.timedelta(seconds=30)


class TooLateToUndo(BadRequest):
    status_code = 409
    title = "Too late to undo"


async def _own_recent(actor: Actor, incident_id: int) -> dict:
    """An incident this person logged at this school, not deleted; anything else is not found."""
    row = await Incident.select(Incident.id, Incident.recorded_at, Incident.location).where(
        (Incident.id == incident_id) & (Incident.school == actor.school_id)
        & (Incident.recorded_by == actor.person_id) & Incident.deleted_at.is_null()).first()
    if actor.school_id is None or not row or not can_log(actor):
        raise NotFound("There is nothing here, or you do not have access to it.")
    return row


def undo_seconds_left(recorded_at: dt.datetime) -> int:
    return max(0, int((recorded_at + UNDO_WINDOW - clock.now()).total_seconds()))


async def undo_incident(actor: Actor, incident_id: int) -> None:
    """The person who logged it takes it back within 30 seconds (a mistap): a soft delete, audited as undone.
    Later, a deletion needs a follow-up lead and a reason (delete_incident)."""
    row = await _own_recent(actor, incident_id)
    if clock.now() > row["recorded_at"] + UNDO_WINDOW:
        raise TooLateToUndo("It is more than 30 seconds since this was logged, so it can no longer be undone. "
                            "It was kept. Ask a pastoral lead, head of year or the DSL to delete it, with a reason.")
    async with atomic():
        gone = await Incident.update({Incident.deleted_at: clock.now(), Incident.deleted_by: actor.person_id,
                                      Incident.deleted_reason: "Undone by the person who logged it."}).where(
            (Incident.id == incident_id) & Incident.deleted_at.is_null()).returning(Incident.id)
        if not gone:
            raise NotFound("There is nothing here, or you do not have access to it.")
        await notifications.withdraw(school_id=actor.school_id, link=f"/incidents/{incident_id}")
        await audit.record("incident.undone", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="incident", subject_id=incident_id,
                           origin=actor.origin)


async def logged_summary(actor: Actor, incident_id: int) -> dict | None:
    """What this person just logged, for the confirmation: what, for whom, where, and how long undo lasts.
    None for anything else (someone else's, another school's, or already undone)."""
    try:
        row = await _own_recent(actor, incident_id)
    except NotFound:
        return None
    links = await _links(incident_id)
    what = [link["category.name"] for link in links if link["category.kind"] != "neutral"]
    place = await Location.select(Location.name).where(Location.id == row["location"]).first() \
        if row["location"] else None
    return {
        "id": incident_id, "what": ", ".join(dict.fromkeys(what)) or links[0]["category.name"],
        "pupils": [{"name": _name(link), "role": PUPIL_ROLES[link["role"]], "category": link["category.name"],
                    "points": link["points"]} for link in links],
        "place": place["name"] if place else "", "undo_seconds": undo_seconds_left(row["recorded_at"]),
    }


# The pupil's timeline and rewards --------------------------------------------------------------------------

async def timeline_entries(pupil_id: int) -> list[dict]:
    rows = await IncidentPupil.select(
        IncidentPupil.role, IncidentPupil.points, IncidentPupil.status, IncidentPupil.category.name,
        IncidentPupil.category.kind, IncidentPupil.incident.id, IncidentPupil.incident.occurred_at,
    ).where((IncidentPupil.pupil == pupil_id) & IncidentPupil.incident.deleted_at.is_null()).order_by(
        IncidentPupil.incident.occurred_at, ascending=False).limit(20)
    # A target's or witness's own category says only their part: what happened is the others' category.
    parts = [r["incident.id"] for r in rows if r["category.kind"] == "neutral"]
    happened: dict[int, list[str]] = {}
    if parts:
        for r in await IncidentPupil.select(IncidentPupil.incident, IncidentPupil.category.name).where(
                IncidentPupil.incident.is_in(parts) & (IncidentPupil.category.kind != "neutral")):
            names = happened.setdefault(r["incident"], [])
            if r["category.name"] not in names:
                names.append(r["category.name"])

    def entry(r: dict) -> dict:
        kind = r["category.kind"]
        if kind == "neutral":
            title = f"{PUPIL_ROLES[r['role']]}: {', '.join(happened.get(r['incident.id'], [])) or r['category.name']}"
            detail = "no points"
        else:
            title = r["category.name"] + ("" if kind == "positive" else f" ({PUPIL_ROLES[r['role']].lower()})")
            detail = f"{r['points']:+d} points" + ("" if kind == "positive" else f" · {STATUSES[r['status']].lower()}")
        return {"at": r["incident.occurred_at"], "kind": "reward" if kind == "positive" else "incident",
                "title": title, "detail": detail, "link": f"/incidents/{r['incident.id']}"}

    return [entry(r) for r in rows]

