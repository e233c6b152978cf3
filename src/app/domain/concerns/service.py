"""Safeguarding concerns: any member of staff records one; only the DSL team can open it.

KCSIE asks for: what was seen or said, the child's own words, when and where, who was present, what was
done straight away; then the DSL's actions, decisions with reasons, and the outcome, kept as a chronology.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Awaitable, Callable

from app.db import parse_id
from app import clock
from app.db import atomic
from app.domain.accounts.service import recently_verified
from app.domain.accounts.tables import Passkey
from app.domain.audit import service as audit
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.incidents.service import ValidationFailed, parse_local_time
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor
from app.domain.schools.tables import Membership, School
from app.errors import NeedsVerification, NotFound
from app.settings import Settings

RECORDERS = ("staff", "guest", "responder", "pastoral", "head_of_year", "dsl", "admin")
DSL_TEAM = ("dsl",)
TEXT_LIMIT = 10_000
ENTRY_KINDS = {"action": "Action", "decision": "Decision", "outcome": "Outcome"}
HIDDEN = "There is nothing here, or you do not have access to it."
# Push texts go to lock screens and through the browser vendors' push services: never a pupil's detail.
NEW_CONCERN_PUSH = "New safeguarding concern"
UNREACHABLE_PUSH = "Nobody in the DSL team could be alerted"

log = logging.getLogger("corridor")

# create_app() sets this to Web Push; without it (the CLI, some tests) no phone is woken.
_push: Callable[[set[int], dict], Awaitable[None]] | None = None


def set_pusher(push: Callable[[set[int], dict], Awaitable[None]] | None) -> None:
    global _push
    _push = push


async def _wake(people: set[int], payload: dict) -> None:
    if _push is not None and people:
        try:
            await _push(people, payload)
        except Exception:
            # A push is a wake-up hint: the concern and the in-app alerts are already saved.
            log.warning("push failed", exc_info=True)


def can_record(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*RECORDERS)


def in_dsl_team(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*DSL_TEAM)


def _reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRTUVWXYZ2346789"  # no look-alikes: it may be read out over the phone
    return "C-" + "".join(secrets.choice(alphabet) for _ in range(6))


@notifications.releases_claim
async def record_concern(actor: Actor, form: dict[str, str], *, key: str | None = None, digest: str = "") -> dict:
    """Record a concern, alert the DSL team at once; the author gets a receipt, never the record."""
    if not can_record(actor):
        raise NotFound()
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    errors = {}
    pupil_id = parse_id(form.get("pupil_id"))
    if pupil_id is None or not await Pupil.exists().where((Pupil.id == pupil_id) & (Pupil.school == actor.school_id)):
        errors["pupil"] = "Choose the pupil this concern is about."
    seen = (form.get("seen_or_said") or "").strip()
    if not seen:
        errors["seen_or_said"] = "Say what you saw or heard, as facts."
    fields = {name: (form.get(name) or "").strip() for name in ("childs_words", "present", "action_taken", "place")}
    for name, value in [("seen_or_said", seen), *fields.items()]:
        if len(value) > TEXT_LIMIT:
            errors[name] = f"Keep this to {TEXT_LIMIT:,} characters."
    occurred_at = clock.now()
    if (form.get("occurred_at") or "").strip():
        try:
            occurred_at = parse_local_time(form["occurred_at"])
            if occurred_at > clock.now():
                errors["occurred_at"] = "The time can't be in the future."
        except ValueError:
            errors["occurred_at"] = "Enter the date and time like 24/11/2026 10:15."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()

    woken: list[tuple[set[int], dict]] = []

    async def write() -> tuple[dict, list]:
        woken.clear()
        concern = Concern(school=actor.school_id, pupil=pupil_id, reference=_reference(), author=actor.person_id,
                          occurred_at=occurred_at, seen_or_said=seen, recorded_at=now, **fields)
        await concern.save()
        team = await alertable(actor.school_id, DSL_TEAM)
        others = team - {actor.person_id}
        pending = await notifications.notify(others, school_id=actor.school_id, kind="concern.new",
                                             text=f"New safeguarding concern {concern.reference}.",
                                             link=f"/concerns/{concern.id}")
        woken.append((others, {"title": "Safeguarding", "body": NEW_CONCERN_PUSH, "url": f"/concerns/{concern.id}"}))
        admins: set[int] = set()
        if not team:
            # Nobody who could act on it will hear of it through Corridor: the author is told on the receipt to
            # find the DSL in person, and the admins (who can fix the set-up, but never read the concern) are told.
            admins = await alertable(actor.school_id, ("admin",)) - {actor.person_id}
            pending += await notifications.notify(
                admins, school_id=actor.school_id, kind="concern.unreachable",
                text=f"Nobody in the DSL team could be alerted to safeguarding concern {concern.reference}. Find the "
                     "DSL in person, and check that they have the DSL role and a passkey.",
                link="/admin/people")
            woken.append((admins, {"title": "Safeguarding", "body": UNREACHABLE_PUSH, "url": "/notifications/"}))
        alerted = {"dsl_alerted": len(others), "admins_alerted": len(admins), "author_in_team": actor.person_id in team}
        await audit.record("concern.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="concern", subject_id=concern.id,
                           subject_label=concern.reference, origin=actor.origin, detail=alerted)
        made.append(concern.reference)
        return {"reference": concern.reference, "recorded_at": now.isoformat(), **alerted}, pending

    made: list[str] = []
    answer = await notifications.answer_once(actor, key, digest, write)
    # After the commit, and only if this attempt's concern is the one saved: an attempt that lost a race with
    # the same key rolled back and answers as the winner did, which has woken the phones already.
    if made and answer["reference"] == made[-1]:
        for people, payload in woken:
            await _wake(people, payload)
    return answer


async def alertable(school_id: int, roles: tuple[str, ...]) -> set[int]:
    """The people with one of these roles at the school (or across its trust) whom Corridor can actually alert:
    enrolled (at least one passkey) and active (not disabled, any guest pass not over)."""
    school = await School.select(School.trust).where(School.id == school_id).first()
    if not school:
        return set()
    now = clock.now()
    rows = await Membership.select(Membership.person).where(
        Membership.role.is_in(list(roles))
        & ((Membership.school == school_id) | ((Membership.trust == school["trust"]) & Membership.school.is_null()))
        & Membership.person.disabled_at.is_null()
        & (Membership.person.guest_until.is_null() | (Membership.person.guest_until > now)))
    people = {r["person"] for r in rows}
    if not people:
        return set()
    enrolled = await Passkey.select(Passkey.person).where(Passkey.person.is_in(sorted(people)))
    return {r["person"] for r in enrolled}


async def receipt(actor: Actor, reference: str) -> dict:
    """What the author may see of their own concern: reference, time, and who was alerted when it was recorded."""
    row = await Concern.select(Concern.id, Concern.reference, Concern.recorded_at).where(
        (Concern.reference == reference) & (Concern.author == actor.person_id)
        & (Concern.school == actor.school_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    created = await audit.find({"action": "concern.created", "subject_type": "concern", "subject_id": row["id"]},
                               columns=("detail",))
    alerted = json.loads(created[0]["detail"]) if created and created[0]["detail"] else {}
    return {"reference": row["reference"], "recorded_at": row["recorded_at"],
            "dsl_alerted": alerted.get("dsl_alerted", 0), "admins_alerted": alerted.get("admins_alerted", 0),
            "author_in_team": alerted.get("author_in_team", False)}


def _require_dsl(settings: Settings, actor: Actor) -> None:
    if not in_dsl_team(actor):
        raise NotFound(HIDDEN)
    if not recently_verified(settings, actor):
        raise NeedsVerification("Safeguarding records need a fresh check with your passkey.")


async def inbox(settings: Settings, actor: Actor) -> list[dict]:
    """The DSL team's list of concerns at this school, new first."""
    _require_dsl(settings, actor)
    rows = await Concern.select(
        Concern.id, Concern.reference, Concern.status, Concern.recorded_at, Concern.pupil.id,
        Concern.pupil.preferred_first_name, Concern.pupil.legal_first_name, Concern.pupil.legal_last_name,
        Concern.author.display_name,
    ).where(Concern.school == actor.school_id).order_by(Concern.id, ascending=False).limit(200)
    async with atomic():
        await audit.record("concerns.listed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, origin=actor.origin)
    return sorted(rows, key=lambda r: (r["status"] != "new", -r["id"]))


async def open_concern(settings: Settings, actor: Actor, concern_id: int) -> dict[str, Any]:
    """The whole record, for the DSL team only, after a fresh passkey check; every view is audited."""
    _require_dsl(settings, actor)
    row = await Concern.select(
        *Concern.all_columns(), Concern.pupil.preferred_first_name, Concern.pupil.legal_first_name,
        Concern.pupil.legal_last_name, Concern.pupil.tutor_group.name, Concern.author.display_name,
    ).where((Concern.id == concern_id) & (Concern.school == actor.school_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    row["entries"] = await ConcernEntry.select(
        ConcernEntry.kind, ConcernEntry.body, ConcernEntry.reason, ConcernEntry.at, ConcernEntry.by.display_name,
    ).where(ConcernEntry.concern == concern_id).order_by(ConcernEntry.id)
    async with atomic():
        if row["status"] == "new":
            await Concern.update({Concern.status: "open"}).where(Concern.id == concern_id)
        await audit.record("concern.viewed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="concern", subject_id=concern_id,
                           subject_label=row["reference"], origin=actor.origin)
    return row


async def add_entry(settings: Settings, actor: Actor, concern_id: int, kind: str, body: str, reason: str) -> None:
    """Record an action, a decision (with its reason) or the outcome (which closes the concern)."""
    _require_dsl(settings, actor)
    concern = await Concern.select(Concern.id, Concern.reference).where(
        (Concern.id == concern_id) & (Concern.school == actor.school_id)).first()
    if not concern:
        raise NotFound(HIDDEN)
    errors = {}
    body, reason = (body or "").strip(), (reason or "").strip()
    if kind not in ENTRY_KINDS:
        errors["kind"] = "Choose an action, a decision or the outcome."
    if not body:
        errors["body"] = "Write what was done or decided."
    if kind == "decision" and not reason:
        errors["reason"] = "A decision needs its reason recorded."
    if len(body) > TEXT_LIMIT or len(reason) > TEXT_LIMIT:
        errors["body"] = f"Keep this to {TEXT_LIMIT:,} characters."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        await ConcernEntry.insert(ConcernEntry(concern=concern_id, kind=kind, body=body, reason=reason,
                                               by=actor.person_id, at=clock.now()))
        if kind == "outcome":
            await Concern.update({Concern.status: "closed", Concern.outcome: body}).where(Concern.id == concern_id)
        await audit.record("concern.updated", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="concern", subject_id=concern_id,
                           subject_label=concern["reference"], origin=actor.origin, detail={"kind": kind})


async def chronology(settings: Settings, actor: Actor, pupil_id: int) -> dict[str, Any]:
    """Every concern about a pupil and what followed, oldest first: the DSL's chronology."""
    _require_dsl(settings, actor)
    pupil = await Pupil.select(Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name, Pupil.legal_last_name
                               ).where((Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not pupil:
        raise NotFound(HIDDEN)
    events = []
    for c in await Concern.select(Concern.id, Concern.reference, Concern.occurred_at, Concern.seen_or_said,
                                  Concern.author.display_name).where(Concern.pupil == pupil_id):
        events.append({"at": c["occurred_at"], "what": f"Concern {c['reference']} recorded by {c['author.display_name']}",
                       "detail": c["seen_or_said"], "concern": c["id"]})
        for e in await ConcernEntry.select(ConcernEntry.kind, ConcernEntry.body, ConcernEntry.reason, ConcernEntry.at,
                                           ConcernEntry.by.display_name).where(ConcernEntry.concern == c["id"]):
            detail = e["body"] + (f" — reason: {e['reason']}" if e["reason"] else "")
            events.append({"at": e["at"], "what": f"{ENTRY_KINDS[e['kind']]} by {e['by.display_name']} ({c['reference']})",
                           "detail": detail, "concern": c["id"]})
    async with atomic():
        await audit.record("chronology.viewed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil_id, origin=actor.origin)
    name = f"{pupil['preferred_first_name'] or pupil['legal_first_name']} {pupil['legal_last_name']}"
    return {"pupil": pupil, "name": name, "events": sorted(events, key=lambda e: e["at"])}
