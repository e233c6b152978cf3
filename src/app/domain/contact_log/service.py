"""The contact log (issue 13, point 4): calls, texts, emails, letters, meetings and home visits with a pupil's
family or an agency, logged from the pupil's profile, with or without signal (the outbox replays the form).

Who: pastoral staff, the pastoral lead and the DSL team log and see the contacts of every pupil of their school;
a head of year those of the pupils in their years. Anyone else finds nothing. The MIS's restrictions are
honoured: a contact marked "no contact" is never offered and a form naming one is refused; a contact without
parental responsibility is marked, so nothing about the pupil is shared with them by mistake.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from app import clock
from app.clock import parse_date
from app.db import parse_id
from app.domain.audit import service as audit
from app.domain.contact_log.tables import ContactLog
from app.domain.incidents.service import LONDON, ValidationFailed, parse_local_time
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.service import Actor, years_in_scope
from app.errors import NotFound

USERS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")
SEE_ALL = ("pastoral", "pastoral_lead", "dsl")
HIDDEN = "There is nothing here, or you do not have access to it."
METHODS = {"phone": "Phone call", "text": "Text message", "email": "Email", "letter": "Letter",
           "meeting": "Meeting", "home_visit": "Home visit"}
DIRECTIONS = {"out": "We contacted them", "in": "They contacted us"}
OUTCOMES = {"spoke": "Spoke to them", "message_left": "Left a message", "no_answer": "No answer",
            "wrong_number": "Wrong number", "sent": "Sent or received (letter, email, text)"}
TEXT_LIMIT = 10_000
AGENCY_LIMIT = 200
BACKDATE_DAYS = 60  # a contact logged later than this is a record made from memory: ask for the right date


def can_use(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*USERS)


async def visible_pupil(actor: Actor, pupil_id: int | None) -> dict | None:
    """The pupil, if the actor may log and see their contacts; else None."""
    years = await years_in_scope(actor, USERS, SEE_ALL)
    if pupil_id is None:
        return None
    row = await Pupil.select(Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name, Pupil.legal_last_name,
                             Pupil.year_code, Pupil.tutor_group.name).where(
        (Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row or (years is not None and row["year_code"] not in years):
        return None
    first = row["preferred_first_name"] or row["legal_first_name"]
    return {"id": row["id"], "name": f"{first} {row['legal_last_name']}", "year": row["year_code"],
            "tutor_group": row["tutor_group.name"] or ""}


async def may_see(actor: Actor, pupil_id: int) -> bool:
    return can_use(actor) and await visible_pupil(actor, pupil_id) is not None


async def family_contacts(pupil_id: int) -> list[dict]:
    """The pupil's MIS contacts in priority order, each with its restrictions."""
    return await Contact.select(Contact.id, Contact.name, Contact.relationship, Contact.phone, Contact.email,
                                Contact.parental_responsibility, Contact.no_contact).where(
        Contact.pupil == pupil_id).order_by(Contact.priority).order_by(Contact.id)


def _label(contact: dict) -> str:
    return f"{contact['name']} ({contact['relationship']})" if contact["relationship"] else contact["name"]


def _text(form: dict[str, str], name: str, errors: dict[str, str], limit: int = TEXT_LIMIT) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        errors[name] = f"Keep this to {limit:,} characters."
    return value


@notifications.releases_claim
async def log_contact(actor: Actor, form: dict[str, str], *, key: str | None = None, digest: str = "") -> dict:
    """Log one contact (a second submission of the same form, or its replay from the outbox, answers with the first)."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    errors: dict[str, str] = {}
    pupil = await visible_pupil(actor, parse_id(form.get("pupil_id")))
    if pupil is None:
        errors["pupil"] = "Start from the pupil's profile."

    who = (form.get("contact_id") or "").strip()
    contact, agency = None, ""
    if who == "agency":
        agency = " ".join((form.get("agency") or "").split())
        if not agency:
            errors["agency"] = "Type the agency and the person, for example 'CAMHS, Dr Shah'."
        elif len(agency) > AGENCY_LIMIT:
            errors["agency"] = f"Keep this to {AGENCY_LIMIT} characters."
    elif pupil is not None:
        contact_id = parse_id(who)
        contact = next((c for c in await family_contacts(pupil["id"]) if c["id"] == contact_id), None) \
            if contact_id is not None else None
        if contact is None:
            errors["contact_id"] = "Choose who the contact was with."
        elif contact["no_contact"]:
            # The MIS says this person must not be contacted about the pupil: nothing is logged as if they were.
            errors["contact_id"] = (f"{contact['name']} is marked 'no contact' in the MIS: do not contact them. "
                                    "Speak to the DSL.")

    method = (form.get("method") or "").strip()
    if method not in METHODS:
        errors["method"] = "Choose how: a call, text, email, letter, meeting or home visit."
    direction = (form.get("direction") or "").strip()
    if direction not in DIRECTIONS:
        errors["direction"] = "Choose whether you contacted them or they contacted you."
    outcome = (form.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        errors["outcome"] = "Choose what happened: spoke, message left, no answer or wrong number."

    occurred_at = clock.now()
    raw_when = (form.get("occurred_at") or "").strip()
    if raw_when:
        try:
            occurred_at = parse_local_time(raw_when)
        except ValueError:
            errors["occurred_at"] = "Enter the date and time like 24/11/2026 10:15."
        else:
            if occurred_at > clock.now() + dt.timedelta(minutes=5):
                errors["occurred_at"] = "The time can't be in the future."
            elif occurred_at < clock.now() - dt.timedelta(days=BACKDATE_DAYS):
                errors["occurred_at"] = f"That is more than {BACKDATE_DAYS} days ago. Check the date."

    summary = _text(form, "summary", errors)
    voice = _text(form, "voice", errors)
    follow_up_on = None
    raw_follow = (form.get("follow_up_on") or "").strip()
    if raw_follow:
        follow_up_on = parse_date(raw_follow)
        if follow_up_on is None:
            errors["follow_up_on"] = "Enter the follow-up date like 24/11/2026."
        elif follow_up_on < occurred_at.astimezone(LONDON).date():
            errors["follow_up_on"] = "The follow-up date can't be before the contact."
    if errors:
        raise ValidationFailed(errors)

    label = _label(contact) if contact else agency
    now = clock.now()

    async def write() -> tuple[dict, list]:
        row = ContactLog(school=actor.school_id, pupil=pupil["id"], contact=contact["id"] if contact else None,
                         agency=agency, with_label=label[:260], method=method, direction=direction,
                         outcome=outcome, occurred_at=occurred_at, summary=summary, voice=voice,
                         follow_up_on=follow_up_on, recorded_by=actor.person_id, created_at=now)
        await row.save()
        # No names in the audit log: the pupil is the subject by id; who the contact was with stays in the record.
        await audit.record("contact_log.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil["id"],
                           subject_label=f"Contact {row.id}", origin=actor.origin,
                           detail={"contact_log": row.id, "method": method, "direction": direction,
                                   "outcome": outcome, "agency": bool(agency)})
        return {"id": row.id, "pupil_id": pupil["id"]}, []

    return await notifications.answer_once(actor, key, digest, write)


def _row(r: dict) -> dict:
    return {**r, "method_label": METHODS.get(r["method"], r["method"]),
            "outcome_label": OUTCOMES.get(r["outcome"], r["outcome"]),
            "direction_label": "In" if r["direction"] == "in" else "Out"}


async def for_pupil(actor: Actor, pupil_id: int, limit: int = 10) -> dict:
    """The pupil's most recent contacts, newest first (404 for anyone who may not see them)."""
    pupil = await visible_pupil(actor, pupil_id)
    if pupil is None:
        raise NotFound(HIDDEN)
    rows = await ContactLog.select(
        ContactLog.id, ContactLog.with_label, ContactLog.agency, ContactLog.method, ContactLog.direction,
        ContactLog.outcome, ContactLog.occurred_at, ContactLog.summary, ContactLog.follow_up_on,
        ContactLog.recorded_by.display_name).where(
        (ContactLog.pupil == pupil_id) & (ContactLog.school == actor.school_id)).order_by(
        ContactLog.occurred_at, ascending=False).limit(limit)
    return {"pupil": pupil, "logs": [_row(r) for r in rows]}


async def open_log(actor: Actor, log_id: int) -> dict:
    """One logged contact, for those who may see the pupil's contacts."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    row = await ContactLog.select(*ContactLog.all_columns(), ContactLog.recorded_by.display_name).where(
        (ContactLog.id == log_id) & (ContactLog.school == actor.school_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    pupil = await visible_pupil(actor, row["pupil"])
    if pupil is None:
        raise NotFound(HIDDEN)
    return {"pupil": pupil, "log": _row(row)}
