"""Referrals to outside services (issue 13, point 2): consent, a state machine with a dated history, and a chase
of every referral the service has not acknowledged within the school's number of school days.

Who: pastoral staff and the DSL team see and make every referral of their school; a head of year those of the
pupils in their years. Anyone else (plain staff, guests, an admin without one of those roles) finds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.clock import parse_date
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Pupil
from app.domain.referrals.tables import Referral, ReferralEvent, ReferralService, ReferralSettings
from app.domain.schools.service import Actor, years_in_scope
from app.errors import NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
USERS = ("pastoral", "head_of_year", "dsl")
SEE_ALL = ("pastoral", "dsl")
HIDDEN = "There is nothing here, or you do not have access to it."
DEFAULT_SERVICES = ("CAMHS", "Early help", "Children's social care", "School nurse", "Young Carers",
                    "Educational psychology", "Attendance service", "School counsellor")
DEFAULT_CHASE_DAYS = 10
TEXT_LIMIT = 10_000
NOTE_LIMIT = 2_000
STATES = {"draft": "Draft", "sent": "Sent", "acknowledged": "Acknowledged", "accepted": "Accepted",
          "declined": "Declined", "waiting": "Waiting", "active": "Active", "closed": "Closed"}
# draft → sent → acknowledged → accepted | declined → waiting → active → closed. An accepted referral may start
# at once (no waiting list), and a declined one is closed with what happens instead.
MOVES: dict[str, tuple[str, ...]] = {
    "draft": ("sent",), "sent": ("acknowledged",), "acknowledged": ("accepted", "declined"),
    "accepted": ("waiting", "active"), "declined": ("closed",), "waiting": ("active",), "active": ("closed",),
    "closed": (),
}
ACTIONS = {"sent": "Mark as sent", "acknowledged": "Acknowledged by the service", "accepted": "Accepted",
           "declined": "Declined", "waiting": "On the waiting list", "active": "Support started", "closed": "Close"}
CONSENT_HOW = {"verbal": "Verbally (in person)", "phone": "By phone", "written": "In writing", "email": "By email"}
CHASE_EVERY = 60.0  # seconds between two chase checks of one process (the check itself is idempotent)

log = logging.getLogger("corridor")


# Who ----------------------------------------------------------------------------------------------------------

def can_use(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*USERS)


def _name(row: dict, prefix: str = "") -> str:
    first = row[f"{prefix}preferred_first_name"] or row[f"{prefix}legal_first_name"]
    return f"{first} {row[f'{prefix}legal_last_name']}"


async def visible_pupil(actor: Actor, pupil_id: int | None) -> dict | None:
    """The pupil, if the actor may see and make their referrals; else None."""
    years = await years_in_scope(actor, USERS, SEE_ALL)
    if pupil_id is None:
        return None
    row = await Pupil.select(Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name, Pupil.legal_last_name,
                             Pupil.year_code, Pupil.tutor_group.name).where(
        (Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row or (years is not None and row["year_code"] not in years):
        return None
    return {"id": row["id"], "name": _name(row), "year": row["year_code"], "tutor_group": row["tutor_group.name"]}


# School days ---------------------------------------------------------------------------------------------------

def today(now: dt.datetime | None = None) -> dt.date:
    return (now or clock.now()).astimezone(LONDON).date()


def school_days_after(start: dt.date, days: int) -> dt.date:
    """The date `days` school days after `start`. Corridor holds no term dates yet, so a school day is a weekday."""
    current, counted = start, 0
    while counted < days:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            counted += 1
    return current


def school_days_between(start: dt.date, end: dt.date) -> int:
    """How many school days (weekdays) after `start`, up to and including `end`."""
    counted, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            counted += 1
    return counted


# The school's list and setting ---------------------------------------------------------------------------------

_SETTINGS = "INSERT INTO referral_settings (school, chase_after_days) VALUES ({}, {}) ON CONFLICT (school) DO NOTHING RETURNING id"


async def ensure_defaults(school_id: int) -> None:
    """The default services and chase setting, the first time a school uses referrals (once, in any process)."""
    if await ReferralSettings.exists().where(ReferralSettings.school == school_id):
        return
    async with atomic():
        made = await ReferralSettings.raw(_SETTINGS, school_id, DEFAULT_CHASE_DAYS)
        if made:
            now = clock.now()
            await ReferralService.insert(*[ReferralService(school=school_id, name=name, created_at=now)
                                           for name in DEFAULT_SERVICES])


async def chase_after_days(school_id: int) -> int:
    await ensure_defaults(school_id)
    row = await ReferralSettings.select(ReferralSettings.chase_after_days).where(
        ReferralSettings.school == school_id).first()
    return row["chase_after_days"] if row else DEFAULT_CHASE_DAYS


async def services(school_id: int, *, retired: bool = False) -> list[dict]:
    """The school's services by name; retired ones only when asked (the admin page)."""
    await ensure_defaults(school_id)
    query = ReferralService.select(ReferralService.id, ReferralService.name, ReferralService.retired_at).where(
        ReferralService.school == school_id)
    if not retired:
        query = query.where(ReferralService.retired_at.is_null())
    return sorted(await query, key=lambda r: (r["retired_at"] is not None, r["name"].lower()))


def _require_admin(actor: Actor) -> None:
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound(HIDDEN)


def _service_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed({"name": "Enter the service's name."})
    if len(name) > 80:
        raise ValidationFailed({"name": "Keep the name to 80 characters."})
    return name


async def _same_name(school_id: int, name: str, *, other_than: int | None = None) -> dict | None:
    rows = await ReferralService.select(ReferralService.id, ReferralService.name, ReferralService.retired_at).where(
        ReferralService.school == school_id)
    return next((r for r in rows if r["name"].lower() == name.lower() and r["id"] != other_than), None)


async def _audit(actor: Actor, action: str, *, subject_type: str, subject_id: Any, label: str = "",
                 detail: dict | None = None) -> None:
    await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                       subject_type=subject_type, subject_id=subject_id, subject_label=label, origin=actor.origin,
                       detail=detail)


async def add_service(actor: Actor, raw_name: str) -> None:
    """Add a service to the school's list (a second submission of the same name adds nothing)."""
    _require_admin(actor)
    name = _service_name(raw_name)
    await ensure_defaults(actor.school_id)
    existing = await _same_name(actor.school_id, name)
    if existing and existing["retired_at"] is None:
        return  # already on the list: a double submission, or someone else added it
    try:
        async with atomic():
            if existing:
                await ReferralService.update({ReferralService.retired_at: None, ReferralService.name: name}).where(
                    ReferralService.id == existing["id"])
                await _audit(actor, "referral_service.restored", subject_type="referral_service",
                             subject_id=existing["id"], label=name)
                return
            service = ReferralService(school=actor.school_id, name=name, created_at=clock.now())
            await service.save()
            await _audit(actor, "referral_service.added", subject_type="referral_service", subject_id=service.id,
                         label=name)
    except Exception as exc:
        if "unique" not in str(exc).lower():
            raise
        # Another submission of the same name won the race: it is on the list once.


async def _school_service(actor: Actor, service_id: int) -> dict:
    row = await ReferralService.select().where(
        (ReferralService.id == service_id) & (ReferralService.school == actor.school_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    return row


async def rename_service(actor: Actor, service_id: int, raw_name: str) -> None:
    """Rename a service; referrals already made to it show the new name."""
    _require_admin(actor)
    row = await _school_service(actor, service_id)
    name = _service_name(raw_name)
    if name == row["name"]:
        return
    if await _same_name(actor.school_id, name, other_than=service_id):
        raise ValidationFailed({"name": f"There is already a service called {name}."})
    async with atomic():
        await ReferralService.update({ReferralService.name: name}).where(ReferralService.id == service_id)
        await _audit(actor, "referral_service.renamed", subject_type="referral_service", subject_id=service_id,
                     label=name, detail={"from": row["name"]})


async def retire_service(actor: Actor, service_id: int) -> None:
    """Take a service off the list for new referrals; referrals made to it keep it."""
    _require_admin(actor)
    row = await _school_service(actor, service_id)
    if row["retired_at"] is not None:
        return
    async with atomic():
        await ReferralService.update({ReferralService.retired_at: clock.now()}).where(
            (ReferralService.id == service_id) & ReferralService.retired_at.is_null())
        await _audit(actor, "referral_service.retired", subject_type="referral_service", subject_id=service_id,
                     label=row["name"])


async def set_chase_after_days(actor: Actor, raw: str) -> None:
    """How many school days a sent referral may wait for an acknowledgement before it is chased (1 to 60)."""
    _require_admin(actor)
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 60):
        raise ValidationFailed({"chase_after_days": "Enter a number of school days from 1 to 60."})
    days = int(text)
    before = await chase_after_days(actor.school_id)
    if days == before:
        return
    async with atomic():
        await ReferralSettings.update({ReferralSettings.chase_after_days: days}).where(
            ReferralSettings.school == actor.school_id)
        await _audit(actor, "referral_settings.changed", subject_type="school", subject_id=actor.school_id,
                     detail={"chase_after_days": days, "was": before})


# Making a referral -----------------------------------------------------------------------------------------------

def _consent(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The consent fields from a form: given (by whom, when, how), not needed (why), or not yet recorded."""
    mode = (form.get("consent") or "").strip()
    values: dict[str, Any] = {"consent_given_by": "", "consent_on": None, "consent_how": "", "consent_not_needed": ""}
    if mode == "given":
        values["consent_given_by"] = (form.get("consent_given_by") or "").strip()
        if not values["consent_given_by"]:
            errors["consent_given_by"] = "Say who gave consent (for example the parent's name)."
        elif len(values["consent_given_by"]) > 200:
            errors["consent_given_by"] = "Keep this to 200 characters."
        raw_on = (form.get("consent_on") or "").strip()
        values["consent_on"] = parse_date(raw_on)
        if values["consent_on"] is None:
            errors["consent_on"] = "Enter the date consent was given, like 24/11/2026."
        elif values["consent_on"] > today():
            errors["consent_on"] = "The date can't be in the future."
        values["consent_how"] = (form.get("consent_how") or "").strip()
        if values["consent_how"] not in CONSENT_HOW:
            errors["consent_how"] = "Choose how consent was given."
    elif mode == "not_needed":
        values["consent_not_needed"] = (form.get("consent_not_needed") or "").strip()
        if not values["consent_not_needed"]:
            errors["consent_not_needed"] = "Say why consent was not needed."
        elif len(values["consent_not_needed"]) > TEXT_LIMIT:
            errors["consent_not_needed"] = f"Keep this to {TEXT_LIMIT:,} characters."
    elif mode:
        errors["consent"] = "Choose whether consent was given, not needed, or not yet asked."
    return values


def consent_recorded(row: dict) -> bool:
    return bool((row["consent_given_by"] and row["consent_on"] and row["consent_how"]) or row["consent_not_needed"])


@notifications.releases_claim
async def create_referral(actor: Actor, form: dict[str, str], *, key: str | None = None, digest: str = "") -> dict:
    """Save a draft referral owned by its maker (a second submission of the same form answers with the first)."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    errors: dict[str, str] = {}
    pupil = await visible_pupil(actor, parse_id(form.get("pupil_id")))
    if pupil is None:
        errors["pupil"] = "Start the referral from the pupil's profile."
    service_id = parse_id(form.get("service_id"))
    if service_id is None or not await ReferralService.exists().where(
            (ReferralService.id == service_id) & (ReferralService.school == actor.school_id)
            & ReferralService.retired_at.is_null()):
        errors["service_id"] = "Choose the service you are referring to."
    reason = (form.get("reason") or "").strip()
    if not reason:
        errors["reason"] = "Say why you are making this referral."
    elif len(reason) > TEXT_LIMIT:
        errors["reason"] = f"Keep this to {TEXT_LIMIT:,} characters."
    consent = _consent(form, errors)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()

    async def write() -> tuple[dict, list]:
        referral = Referral(school=actor.school_id, pupil=pupil["id"], service=service_id, owner=actor.person_id,
                            reason=reason, state="draft", created_by=actor.person_id, created_at=now, updated_at=now,
                            **consent)
        await referral.save()
        await ReferralEvent.insert(ReferralEvent(referral=referral.id, from_state="", to_state="draft",
                                                 note="Referral drafted.", by=actor.person_id, at=now))
        await _audit(actor, "referral.created", subject_type="referral", subject_id=referral.id,
                     label=f"Referral {referral.id}", detail={"service": service_id})
        return {"id": referral.id}, []

    return await notifications.answer_once(actor, key, digest, write)


async def _visible_referral(actor: Actor, referral_id: int) -> dict:
    years = await years_in_scope(actor, USERS, SEE_ALL)
    row = await Referral.select(
        *Referral.all_columns(), Referral.service.name, Referral.service.retired_at, Referral.owner.display_name,
        Referral.pupil.preferred_first_name, Referral.pupil.legal_first_name, Referral.pupil.legal_last_name,
        Referral.pupil.year_code,
    ).where((Referral.id == referral_id) & (Referral.school == actor.school_id)).first()
    if not row or (years is not None and row["pupil.year_code"] not in years):
        raise NotFound(HIDDEN)
    row["pupil_name"] = _name(row, "pupil.")
    return row


async def open_referral(actor: Actor, referral_id: int) -> dict:
    """A referral with its history, oldest change first, and the moves open to it now."""
    row = await _visible_referral(actor, referral_id)
    row["events"] = await ReferralEvent.select(
        ReferralEvent.from_state, ReferralEvent.to_state, ReferralEvent.note, ReferralEvent.at,
        ReferralEvent.by.display_name).where(ReferralEvent.referral == referral_id).order_by(ReferralEvent.id)
    row["moves"] = MOVES[row["state"]]
    row["consent_recorded"] = consent_recorded(row)
    row["to_chase"] = row["state"] == "sent" and row["chase_due_on"] is not None and row["chase_due_on"] <= today()
    return row


async def record_consent(actor: Actor, referral_id: int, form: dict[str, str]) -> None:
    """Record (or correct) consent on a referral that is not yet closed."""
    row = await _visible_referral(actor, referral_id)
    if row["state"] == "closed":
        raise ValidationFailed({"consent": "This referral is closed: its consent can no longer be changed."})
    errors: dict[str, str] = {}
    if not (form.get("consent") or "").strip():
        errors["consent"] = "Choose whether consent was given or not needed."
    values = _consent(form, errors)
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        await Referral.update({**{getattr(Referral, k): v for k, v in values.items()},
                               Referral.updated_at: clock.now()}).where(Referral.id == referral_id)
        await _audit(actor, "referral.consent_recorded", subject_type="referral", subject_id=referral_id,
                     label=f"Referral {referral_id}",
                     detail={"consent": "given" if values["consent_given_by"] else "not_needed"})


async def move(actor: Actor, referral_id: int, to_state: str, note: str, from_state: str = "") -> None:
    """Move a referral to its next state with a note. A move the state machine does not allow is refused with a
    message; the same move submitted twice (from_state is the state the form was shown in) is made once."""
    row = await _visible_referral(actor, referral_id)
    current = row["state"]
    if from_state and from_state != current and to_state == current:
        return  # a second submission of a move already made
    errors: dict[str, str] = {}
    if to_state not in MOVES.get(current, ()):
        allowed = " or ".join(STATES[s].lower() for s in MOVES.get(current, ())) or "nothing: it is closed"
        errors["to_state"] = (f"A referral that is {STATES[current].lower()} can't become "
                              f"{STATES.get(to_state, to_state or 'that').lower()}; next it can be {allowed}.")
    note = (note or "").strip()
    if not note:
        errors["note"] = "Add a note: what happened, and who you dealt with."
    elif len(note) > NOTE_LIMIT:
        errors["note"] = f"Keep the note to {NOTE_LIMIT:,} characters."
    if to_state == "sent" and not consent_recorded(row):
        errors["consent"] = "Record consent (who gave it, when and how) or why it was not needed before sending."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    changes: dict[Any, Any] = {Referral.state: to_state, Referral.updated_at: now}
    if to_state == "sent":
        changes[Referral.sent_at] = now
        changes[Referral.chase_due_on] = school_days_after(today(now), await chase_after_days(actor.school_id))
    async with atomic():
        moved = await Referral.update(changes).where(
            (Referral.id == referral_id) & (Referral.state == current)).returning(Referral.id)
        if not moved:
            return  # another submission moved it first: that move is the one recorded
        await ReferralEvent.insert(ReferralEvent(referral=referral_id, from_state=current, to_state=to_state,
                                                 note=note, by=actor.person_id, at=now))
        await _audit(actor, "referral.moved", subject_type="referral", subject_id=referral_id,
                     label=f"Referral {referral_id}", detail={"from": current, "to": to_state})


# Lists -------------------------------------------------------------------------------------------------------

def _listed(rows: list[dict], on: dt.date) -> list[dict]:
    for r in rows:
        r["pupil_name"] = _name(r, "pupil.")
        r["waiting_days"] = (school_days_between(r["sent_at"].astimezone(LONDON).date(), on)
                             if r["state"] == "sent" and r["sent_at"] else None)
        r["to_chase"] = r["state"] == "sent" and r["chase_due_on"] is not None and r["chase_due_on"] <= on
    return rows


def _list_query(actor: Actor, years: set[str] | None):
    query = Referral.select(
        Referral.id, Referral.state, Referral.sent_at, Referral.chase_due_on, Referral.chased_at, Referral.updated_at,
        Referral.service.name, Referral.owner.display_name, Referral.owner, Referral.pupil.preferred_first_name,
        Referral.pupil.legal_first_name, Referral.pupil.legal_last_name, Referral.pupil.year_code,
    ).where(Referral.school == actor.school_id)
    if years is not None:
        query = query.where(Referral.pupil.year_code.is_in(sorted(years) or ["-"]))
    return query


async def to_chase(actor: Actor) -> list[dict]:
    """Sent referrals not acknowledged within the school's number of school days, longest waiting first."""
    years = await years_in_scope(actor, USERS, SEE_ALL)
    on = today()
    rows = await _list_query(actor, years).where(
        (Referral.state == "sent") & (Referral.chase_due_on <= on)).order_by(Referral.chase_due_on).limit(500)
    return _listed(rows, on)


async def open_referrals(actor: Actor) -> list[dict]:
    """Every referral the actor may see that is not closed, most recently changed first."""
    years = await years_in_scope(actor, USERS, SEE_ALL)
    rows = await _list_query(actor, years).where(Referral.state != "closed").order_by(
        Referral.updated_at, ascending=False).limit(500)
    return _listed(rows, today())


async def for_pupil(actor: Actor, pupil_id: int) -> dict:
    """One pupil's referrals, newest first (404 for a pupil whose referrals the actor may not see)."""
    pupil = await visible_pupil(actor, pupil_id)
    if pupil is None:
        raise NotFound(HIDDEN)
    rows = await _list_query(actor, None).where(Referral.pupil == pupil_id).order_by(Referral.id, ascending=False)
    return {"pupil": pupil, "referrals": _listed(rows, today())}


# The chase -----------------------------------------------------------------------------------------------------

async def chase_due(now: dt.datetime | None = None) -> int:
    """Alert the owner of every sent referral whose chase day has come, once: every process may run this, and the
    conditional update lets exactly one of them claim each referral. Returns how many owners were alerted."""
    now = now or clock.now()
    due = await Referral.select(Referral.id, Referral.school, Referral.owner, Referral.service.name).where(
        (Referral.state == "sent") & Referral.chased_at.is_null() & (Referral.chase_due_on <= today(now)))
    count = 0
    for row in due:
        days = await chase_after_days(row["school"])
        async with atomic():
            claimed = await Referral.update({Referral.chased_at: now}).where(
                (Referral.id == row["id"]) & (Referral.state == "sent") & Referral.chased_at.is_null()
            ).returning(Referral.id)
            if not claimed:
                continue
            # No pupil's name: the alert's text is shown in lists and may be read over a shoulder.
            pending = await notifications.notify(
                {row["owner"]}, school_id=row["school"], kind="referral.chase",
                text=f"Your referral to {row['service.name']} has not been acknowledged after {days} school days: "
                     "chase it.", link=f"/referrals/{row['id']}")
            await audit.record("referral.chased", school_id=row["school"], subject_type="referral",
                               subject_id=row["id"], subject_label=f"Referral {row['id']}",
                               detail={"owner": row["owner"], "school_days": days})
        count += 1
        await notifications.deliver(pending)
    return count


_last_check = float("-inf")
_monotonic = time.monotonic


async def chase_if_due() -> None:
    """The periodic job's hook: a chase check at most every CHASE_EVERY seconds in this process; never raises."""
    global _last_check
    now = _monotonic()
    if now - _last_check < CHASE_EVERY:
        return
    _last_check = now
    try:
        await chase_due()
    except Exception:
        log.warning("referral chase check failed", exc_info=True)
