"""On-call: raise, alert the responders on duty, claim exactly once, escalate when nobody answers.

raised → acknowledged(by) → en_route → on_scene → resolved(outcome), or cancelled by the requester;
escalated (tier + 1) while nobody acknowledges. Every change is an OnCallEvent: its id is the live
stream's event id, so a reconnecting client resumes from Last-Event-ID. Push is a wake-up hint; the
events in the database are the truth.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import statistics
from typing import Any, Awaitable, Callable

from app.clock import parse_date
from app.db import MAX_ID, parse_id
from app import clock
from app.db import atomic
from app.domain.audit import service as audit
from app.domain.incidents.service import LONDON, ValidationFailed
from app.domain.notifications import service as notifications
from app.domain.oncall.tables import (
    OnCallEvent,
    OnCallPupil,
    OnCallReason,
    OnCallRequest,
    OnCallSettings,
    OnDuty,
    Presence,
    RotaOverride,
    RotaSlot,
)
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor
from app.domain.schools.tables import Membership, Person
from app.errors import BadRequest, NotFound

log = logging.getLogger("corridor")

URGENCIES = {"routine": "Routine", "urgent": "Urgent", "emergency": "Emergency"}
URGENCY_RANK = {"emergency": 0, "urgent": 1, "routine": 2}
STATES = {"raised": "Waiting for a responder", "acknowledged": "Claimed", "en_route": "On the way",
          "on_scene": "On scene", "resolved": "Resolved", "cancelled": "Cancelled"}
OPEN_STATES = ("raised", "acknowledged", "en_route", "on_scene")
OUTCOMES = {"returned": "Returned to class", "removed": "Removed to the pastoral base", "sent_home": "Sent home",
            "first_aid": "First aid given", "dsl": "Handed to the DSL", "other": "Other"}
DEFAULT_REASONS = ["Remove a pupil", "Medical", "Behaviour escalation", "Safeguarding", "Other"]
RAISERS = ("staff", "guest", "responder", "pastoral", "head_of_year", "dsl")
RESPONDER_ROLES = ("responder",)
ONLINE_WINDOW = dt.timedelta(seconds=45)
DEFAULT_SETTINGS = {"ack_seconds": 60, "top_tier": 2}  # a school without a settings row
HIDDEN = "There is nothing here, or you do not have access to it."

# create_app() sets this to publish on the live channels; push is sent through `_push` when configured.
_publisher: Callable[[list[str], Any], Awaitable[None]] | None = None
_push: Callable[[set[int], dict], Awaitable[None]] | None = None


def set_publisher(publisher, push=None) -> None:
    global _publisher, _push
    _publisher, _push = publisher, push


def school_channel(school_id: int) -> str:
    return f"oncall:{school_id}"


# Set-up ------------------------------------------------------------------------------------------------

async def ensure_defaults(school_id: int) -> None:
    if not await OnCallReason.exists().where(OnCallReason.school == school_id):
        await OnCallReason.insert(*[OnCallReason(school=school_id, name=n, position=i)
                                    for i, n in enumerate(DEFAULT_REASONS)])
    if not await OnCallSettings.exists().where(OnCallSettings.school == school_id):
        await OnCallSettings.insert(OnCallSettings(school=school_id))


async def settings_for(school_id: int) -> dict:
    row = await OnCallSettings.select().where(OnCallSettings.school == school_id).first()
    return row or dict(DEFAULT_SETTINGS)


async def reasons(school_id: int) -> list[dict]:
    return await OnCallReason.select().where(
        (OnCallReason.school == school_id) & OnCallReason.retired_at.is_null()).order_by(OnCallReason.position)


# Who is on call ---------------------------------------------------------------------------------------------

def _hhmm(moment: dt.datetime) -> str:
    return moment.astimezone(LONDON).strftime("%H:%M")


# Who may be on call at a moment, in one statement: the weekly rota's slots (kind 0), the day's overrides (1), who
# marked themselves on duty (2) and the school's responders, the fallback when nobody else is (3), each with
# whether the person is enabled and whether their board is open. Only placeholders are formatted in.
_ROSTER_SQL = (
    "SELECT x.kind, x.id, x.person, x.tier, x.on_call, person.disabled_at IS NULL AS active, "  # nosec B608
    "EXISTS (SELECT 1 FROM presence WHERE presence.person = x.person AND presence.seen_at > {}) AS online "
    "FROM (SELECT 0 AS kind, id, person, tier, TRUE AS on_call FROM rota_slot "
    "WHERE school = {} AND weekday = {} AND starts <= {} AND ends > {} "
    "UNION ALL SELECT 1, id, person, tier, on_call FROM rota_override WHERE school = {} AND on_date = {} "
    "UNION ALL SELECT 2, id, person, 1, TRUE FROM on_duty WHERE school = {} AND since <= {} AND \"until\" > {} "
    "UNION ALL SELECT 3, id, person, 1, TRUE FROM membership WHERE school = {} AND role IN (%s)) x "
    "JOIN person ON person.id = x.person ORDER BY x.kind, x.id") % ", ".join("{}" for _ in RESPONDER_ROLES)


async def _roster(school_id: int, at: dt.datetime) -> list[dict]:
    """Everyone who could be on call at `at` and why (see _ROSTER_SQL), read once for every tier."""
    local = at.astimezone(LONDON)
    hhmm = local.strftime("%H:%M")
    return await RotaSlot.raw(_ROSTER_SQL, at - ONLINE_WINDOW, school_id, local.weekday(), hhmm, hhmm, school_id,
                              local.date(), school_id, at, at, school_id, *RESPONDER_ROLES)


def _on_call_in(roster: list[dict], tier: int | None) -> set[int]:
    """on_call() from a roster already read: the weekly rota, then the day's overrides, plus anyone who marked
    themselves on duty (tier 1); with nobody, the school's responders; nobody disabled."""
    people = {r["person"] for r in roster if r["kind"] == 0 and (tier is None or r["tier"] == tier)}
    for o in (r for r in roster if r["kind"] == 1):
        if tier is None or o["tier"] == tier:
            (people.add if o["on_call"] else people.discard)(o["person"])
    if tier in (None, 1):
        people |= {r["person"] for r in roster if r["kind"] == 2}
    if not people and tier in (None, 1):
        # The fallback when the rota is empty: everyone with the responder role at the school.
        people = {r["person"] for r in roster if r["kind"] == 3}
    active = {r["person"] for r in roster if r["active"]}
    return people & active


def _online_in(roster: list[dict], people: set[int]) -> set[int]:
    """online() from a roster already read (its presence was read at the roster's moment)."""
    return {r["person"] for r in roster if r["online"]} & people


async def on_call(school_id: int, tier: int | None, at: dt.datetime | None = None) -> set[int]:
    """Who is on call at a tier now (None: every tier): the weekly rota, then the day's overrides, plus anyone
    who marked themselves on duty (tier 1). With nobody on the rota at all, the school's responders."""
    return _on_call_in(await _roster(school_id, at or clock.now()), tier)


async def online(person_ids: set[int]) -> set[int]:
    if not person_ids:
        return set()
    rows = await Presence.select(Presence.person).where(
        Presence.person.is_in(list(person_ids)) & (Presence.seen_at > clock.now() - ONLINE_WINDOW))
    return {r["person"] for r in rows}


async def seen(actor: Actor) -> dt.datetime:
    """The actor's board is open: they count as online for the next 45 seconds. Returns the time written."""
    now = clock.now()
    updated = await Presence.update({Presence.seen_at: now, Presence.school: actor.school_id}).where(
        Presence.person == actor.person_id).returning(Presence.id)
    if not updated:
        try:
            await Presence.insert(Presence(person=actor.person_id, school=actor.school_id, seen_at=now))
        except Exception:  # another process inserted it first
            await Presence.update({Presence.seen_at: now}).where(Presence.person == actor.person_id)
    return now


async def gone(person_id: int, last_seen: dt.datetime) -> None:
    """A board closed (or its session ended): the person is no longer online, unless a board of theirs on
    another device has said so since (it wrote a later time, and keeps them online)."""
    await Presence.delete().where((Presence.person == person_id) & (Presence.seen_at <= last_seen))


async def can_respond(actor: Actor) -> bool:
    if actor.school_id is None:
        return False
    # DESIGN.md: responders, pastoral staff, heads of year and the DSL team answer on-call. An admin is not
    # one (the board shows pupils and notes); they set the rota and read the report.
    if actor.has("responder", "head_of_year", "pastoral", "dsl"):
        return True
    return actor.person_id in await on_call(actor.school_id, None)


async def set_on_duty(actor: Actor, on: bool) -> None:
    """Mark oneself on duty until the end of the school day (or stop)."""
    if not actor.has(*RAISERS) or actor.has("guest"):
        raise NotFound()
    now = clock.now()
    async with atomic():
        await OnDuty.update({OnDuty.until: now}).where(
            (OnDuty.person == actor.person_id) & (OnDuty.school == actor.school_id) & (OnDuty.until > now))
        if on:
            end = now.astimezone(LONDON).replace(hour=18, minute=0, second=0, microsecond=0)
            if end <= now:
                end = now + dt.timedelta(hours=2)
            await OnDuty.insert(OnDuty(school=actor.school_id, person=actor.person_id, since=now, until=end))
        await audit.record("oncall.duty_started" if on else "oncall.duty_ended", actor_id=actor.person_id,
                           actor_label=actor.label, school_id=actor.school_id, origin=actor.origin)


async def is_on_duty(actor: Actor) -> bool:
    now = clock.now()
    return await OnDuty.exists().where((OnDuty.person == actor.person_id) & (OnDuty.school == actor.school_id)
                                       & (OnDuty.since <= now) & (OnDuty.until > now))


# Raising ----------------------------------------------------------------------------------------------------

def can_raise(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*RAISERS)


async def _event(request_id: int, school_id: int, kind: str, actor_id: int | None, **detail) -> int:
    event = OnCallEvent(school=school_id, request=request_id, kind=kind, actor=actor_id, at=clock.now(),
                        detail=json.dumps(detail) if detail else "")
    await event.save()
    return event.id


def _postgres_event(source: str, school_id: int, kind: str, actor_id: int | None,
                    detail: dict | None) -> tuple[str, list[Any]]:
    """PostgreSQL: `_event`'s row as the part `event AS (...)` of a one-statement write, for the request `source`
    (the WITH query that makes or moves it) names. Returns the part, with `{}` placeholders, and its values."""
    # Only `source`, the name of a WITH query of the caller's, is formatted in; every value is a placeholder.
    part = ("event AS (INSERT INTO on_call_event (school, request, kind, actor, at, detail) SELECT {}::integer, "
            f"{source}.id, {{}}::varchar, {{}}::integer, {{}}::timestamptz, {{}}::text FROM {source} "  # nosec B608
            "RETURNING id)")
    return part, [school_id, kind, actor_id, clock.now(), json.dumps(detail) if detail else ""]


async def _publish(school_id: int, event_ids: list[int]) -> None:
    if _publisher is None:
        return
    for event_id in event_ids:
        try:
            await _publisher([school_channel(school_id)], {"event": event_id})
        except Exception:
            log.warning("live delivery of on-call event %s failed", event_id, exc_info=True)


async def _alert(people: set[int], school_id: int, request_id: int, text: str) -> list:
    pending = await notifications.notify(people, school_id=school_id, kind="oncall", text=text,
                                         link=f"/oncall/{request_id}")
    return pending


async def _about(request_id: int) -> dict[str, str]:
    """What an alert says about a request: the urgency, the reason and the room. Never a pupil's name or the
    note (a push is shown on a lock screen; the note is free text and may name a pupil)."""
    row = await OnCallRequest.select(OnCallRequest.urgency, OnCallRequest.reason.name,
                                     OnCallRequest.location.name).where(OnCallRequest.id == request_id).first()
    if not row:
        return _about_text("", "", "")
    return _about_text(row["urgency"], row["reason.name"], row["location.name"])


def _about_text(urgency: str, reason: str, room: str) -> dict[str, str]:
    label = URGENCIES.get(urgency, "")
    return {"urgency": label, "what": f"{reason} in {room}", "text": f"{label}: {reason} in {room}"}


async def _wake(people: set[int], payload: dict) -> None:
    if _push is not None and people:
        try:
            await _push(people, payload)
        except Exception:
            log.warning("push failed", exc_info=True)


async def _raise_form(school_id: int, location: int | None, reason: int | None, pupil_ids: list[int]) -> dict:
    """What a raise needs to know before it writes, in one statement: the room's and the reason's names (None when
    not this school's, or retired), how many of the pupils are this school's, and the escalation timer."""
    marks = ", ".join("{}" for _ in pupil_ids)
    pupils = f"(SELECT COUNT(*) FROM pupil WHERE school = {{}} AND id IN ({marks}))" if pupil_ids else "0"  # nosec B608
    sql = ("SELECT (SELECT name FROM location WHERE id = {} AND school = {} AND retired_at IS NULL) AS location, "
           "(SELECT name FROM on_call_reason WHERE id = {} AND school = {} AND retired_at IS NULL) "  # nosec B608
           f"AS reason, {pupils} AS pupils, "  # only placeholders are formatted in
           "(SELECT ack_seconds FROM on_call_settings WHERE school = {}) AS ack_seconds")
    args = [location, school_id, reason, school_id, *([school_id, *pupil_ids] if pupil_ids else []), school_id]
    row = (await OnCallRequest.raw(sql, *args))[0]
    if row["ack_seconds"] is None:
        row["ack_seconds"] = DEFAULT_SETTINGS["ack_seconds"]
    return row


async def _raise_checks(actor: Actor, form: dict[str, Any]) -> dict[str, Any]:
    """A raise's form checked against the school's lists (ValidationFailed with every error), and what the write
    needs from it."""
    errors: dict[str, str] = {}
    location = _int(form.get("location_id"))
    reason = _int(form.get("reason_id"))
    pupil_ids = [p for p in (_int(v) for v in _list(form.get("pupil_id"))) if p is not None]
    # The room, the reason, the pupils and the school's timer, checked in one read.
    found = await _raise_form(actor.school_id, location, reason, pupil_ids)
    if location is None:
        errors["location"] = "Say where you are: choose your room."
    elif found["location"] is None:
        errors["location"] = "Choose a room from this school's list."
    if reason is None or found["reason"] is None:
        errors["reason"] = "Choose why you need help."
    urgency = str(form.get("urgency") or "urgent")
    if urgency not in URGENCIES:
        errors["urgency"] = "Choose routine, urgent or emergency."
    if pupil_ids and found["pupils"] != len(set(pupil_ids)):
        errors["pupils"] = "The pupil chosen is not at this school: find them again, or call without a pupil."
    note = str(form.get("note") or "").strip()
    if len(note) > 500:
        errors["note"] = "Keep the note to 500 characters."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    emergency = urgency == "emergency"
    return {"location": location, "reason": reason, "pupils": list(dict.fromkeys(pupil_ids)), "urgency": urgency,
            "note": note, "now": now, "emergency": emergency,
            "escalate_at": None if emergency else now + dt.timedelta(seconds=found["ack_seconds"]),
            "about": _about_text(urgency, found["reason"], found["location"])}


def _who_is_alerted(actor: Actor, roster: list[dict], emergency: bool) -> tuple[set[int], set[int]]:
    """(who is alerted, who of them is online): an emergency goes to everyone on duty at once, otherwise tier 1;
    if nobody who would be alerted is online, the fallback tier too (and the requester is told now)."""
    alerted = _on_call_in(roster, None if emergency else 1)
    alerted.discard(actor.person_id)
    reachable = _online_in(roster, alerted)
    if not reachable and not emergency:
        fallback = _on_call_in(roster, None)
        fallback.discard(actor.person_id)
        alerted |= fallback
    return alerted, reachable


async def _after_raise(actor: Actor, request_id: int, event_id: int, alerted: set[int], about: dict) -> None:
    await _publish(actor.school_id, [event_id])
    await _wake(alerted, {"title": f"On-call: {about['urgency']}", "body": about["what"],
                          "url": f"/oncall/{request_id}"})


@notifications.releases_claim
async def raise_request(actor: Actor, form: dict[str, Any], *, key: str | None = None, digest: str = "") -> dict:
    """Raise on-call; returns {"id", "alerted", "online"}: the page says at once if nobody is online."""
    if not can_raise(actor):
        raise NotFound()
    if key and notifications.writes_in_one_statement():
        answered = await _raise_in_one_statement(actor, form, key, digest)
        if answered is not None:
            return answered
        # The key is held by a claim row an older version wrote: the way below deals with it.
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    v = await _raise_checks(actor, form)
    made: dict[str, Any] = {}  # what this attempt wrote (rolled back if another attempt with the key answered)

    async def write() -> tuple[dict, list]:
        request = OnCallRequest(
            school=actor.school_id, requester=actor.person_id, location=v["location"], reason=v["reason"],
            urgency=v["urgency"], note=v["note"], tier=1, raised_at=v["now"], escalate_at=v["escalate_at"])
        await request.save()
        made["id"] = request.id
        if v["pupils"]:
            await OnCallPupil.insert(*[OnCallPupil(request=request.id, pupil=pid) for pid in v["pupils"]])
        made["event"] = await _event(request.id, actor.school_id, "raised", actor.person_id, urgency=v["urgency"])
        # Who that is, every tier and who is online: one read.
        alerted, reachable = _who_is_alerted(actor, await _roster(actor.school_id, v["now"]), v["emergency"])
        made["alerted"] = alerted
        pending = await _alert(alerted, actor.school_id, request.id, f"On-call, {v['about']['text']}.")
        await audit.record("oncall.raised", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="oncall", subject_id=request.id,
                           origin=actor.origin, detail={"urgency": v["urgency"], "alerted": len(alerted)})
        return {"id": request.id, "alerted": len(alerted), "online": len(reachable)}, pending

    result = await notifications.answer_once(actor, key, digest, write)
    if made.get("id") == result["id"]:  # this attempt's writes are the ones that committed
        await _after_raise(actor, result["id"], made["event"], made["alerted"], v["about"])
    return result


async def _raise_in_one_statement(actor: Actor, form: dict[str, Any], key: str, digest: str) -> dict | None:
    """PostgreSQL: the request, its pupils, its event, its audit entry, its alert and recipients and the key's
    receipt in one statement (a data-modifying WITH, atomic as a transaction is), after the form's read and the
    roster's, as the incident POST does. In a transaction of ten round trips, each waiting its turn on a busy event
    loop, a raise kept its backend idle in the transaction (1.2 backends on average in the trust benchmark's on-call
    part). None: refused by a claim row with no answer, left by an older version (the caller goes the usual way)."""
    notifications.claim_without_reading(actor, key, digest)
    try:
        v = await _raise_checks(actor, form)
    except ValidationFailed:
        if stored := await notifications.answer_if_stored(actor, key, digest):
            return json.loads(stored["body"])
        raise
    # Who is told is read before the write, as for an incident: the roster as it is when the raise is made.
    alerted, reachable = _who_is_alerted(actor, await _roster(actor.school_id, v["now"]), v["emergency"])
    sql, args = _raise_statement(actor, v, alerted, reachable, key, digest)
    try:
        row = (await OnCallRequest.raw(sql, *args))[0]
    except Exception as exc:
        if "unique" not in str(exc).lower():
            raise
        stored = await notifications.answer_if_stored(actor, key, digest)
        return json.loads(stored["body"]) if stored else None
    await notifications.deliver([(person, sent, actor.school_id)
                                 for person, sent in zip(row["people"] or [], row["sent"] or [])])
    await _after_raise(actor, row["id"], row["event"], alerted, v["about"])
    return {"id": row["id"], "alerted": len(alerted), "online": len(reachable)}


def _raise_statement(actor: Actor, v: dict[str, Any], alerted: set[int], reachable: set[int], key: str,
                     digest: str) -> tuple[str, list[Any]]:
    """The statement `_raise_in_one_statement` sends, and its values: the rows `raise_request`'s transaction writes,
    the same columns and values."""
    parts = ["made AS (INSERT INTO on_call_request (school, requester, location, reason, urgency, note, state, tier, "
             "responder, raised_at, escalate_at, acknowledged_at, en_route_at, on_scene_at, resolved_at, cancelled_at, "
             "escalations, outcome, incident) VALUES ({}::integer, {}::integer, {}::integer, {}::integer, {}::varchar, "
             "{}::text, 'raised', 1, NULL, {}::timestamptz, {}::timestamptz, NULL, NULL, NULL, NULL, NULL, 0, '', NULL) "
             "RETURNING id)",
             "pupils AS (INSERT INTO on_call_pupil (request, pupil) SELECT made.id, part.pupil FROM made, "
             "unnest({}::integer[]) WITH ORDINALITY AS part(pupil, n) ORDER BY part.n)"]
    args: list[Any] = [actor.school_id, actor.person_id, v["location"], v["reason"], v["urgency"], v["note"], v["now"],
                       v["escalate_at"], v["pupils"]]
    event_part, values = _postgres_event("made", actor.school_id, "raised", actor.person_id, {"urgency": v["urgency"]})
    parts.append(event_part)
    args += values
    event = audit.new_event("oncall.raised", actor_id=actor.person_id, actor_label=actor.label,
                            school_id=actor.school_id, subject_type="oncall", origin=actor.origin,
                            detail={"urgency": v["urgency"], "alerted": len(alerted)})
    entry, values = audit.postgres_entry(event, subject_id_sql="made.id::text", source="made")
    parts.append(f"entry AS ({entry})")
    args += values
    alert, values = notifications.postgres_alert(alerted, school_id=actor.school_id, kind="oncall",
                                                 text=f"On-call, {v['about']['text']}.",
                                                 link_sql="'/oncall/' || made.id", source="made")
    parts += alert
    args += values
    # The answer's counts are this process's integers, formatted in as numbers; every other value is a placeholder.
    body = (f"json_build_object('id', made.id, 'alerted', {int(len(alerted))}, "
            f"'online', {int(len(reachable))})::text")
    receipt, values = notifications.postgres_receipt(actor, key, digest, body_sql=body, source="made")
    parts.append(f"receipt AS ({receipt})")
    args += values
    sql = ("WITH " + ",\n".join(parts) + "\nSELECT made.id, (SELECT id FROM event) AS event, "  # nosec B608
           "(SELECT array_agg(person ORDER BY id) FROM alert_sent) AS people, "
           "(SELECT array_agg(id ORDER BY id) FROM alert_sent) AS sent FROM made")
    return sql, args


def _int(value: Any) -> int | None:
    """An id, a tier, a weekday or a number of seconds from a form: ASCII digits in a database's range."""
    return 0 if isinstance(value, str) and value.strip() == "0" else parse_id(value)  # 0 is Monday


def _list(value: Any) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# Transitions ------------------------------------------------------------------------------------------------

class Conflict(BadRequest):
    status_code = 409
    title = "Someone got there first"


async def _request(actor: Actor, request_id: int) -> dict:
    row = await OnCallRequest.select().where(
        (OnCallRequest.id == request_id) & (OnCallRequest.school == actor.school_id)).first()
    if not row or actor.school_id is None:
        raise NotFound(HIDDEN)
    return row


async def _name(person_id: int | None) -> str:
    if not person_id:
        return ""
    row = await Person.select(Person.display_name).where(Person.id == person_id).first()
    return row["display_name"] if row else ""


async def _transition(actor: Actor, request_id: int, *, allowed_from: tuple[str, ...], to: str, kind: str,
                      only_responder: bool = False, only_requester: bool = False, extra: dict | None = None,
                      detail: dict | None = None) -> dict:
    """Move a request from one of `allowed_from` to `to`, atomically: of two racing taps, one wins. The update is
    the read: it names the school (and the requester or responder it needs) and returns the row as it now is;
    only when it moves nothing is the request read, to say why."""
    if actor.school_id is None or (not only_requester and not await can_respond(actor)):
        raise NotFound(HIDDEN)
    now = clock.now()
    changes = {OnCallRequest.state: to, **(extra or {})}
    stamp = {"acknowledged": OnCallRequest.acknowledged_at, "en_route": OnCallRequest.en_route_at,
             "on_scene": OnCallRequest.on_scene_at, "resolved": OnCallRequest.resolved_at,
             "cancelled": OnCallRequest.cancelled_at}.get(to)
    if stamp is not None:
        changes[stamp] = now
    if notifications.writes_in_one_statement():
        sql, args = _transition_statement(actor, request_id, changes, allowed_from, kind, only_requester,
                                          only_responder, detail)
        moved = await OnCallRequest.raw(sql, *args)
        event_id = moved[0].pop("event_id") if moved else None
    else:
        condition = ((OnCallRequest.id == request_id) & (OnCallRequest.school == actor.school_id)
                     & OnCallRequest.state.is_in(list(allowed_from)))
        if only_requester:
            condition &= OnCallRequest.requester == actor.person_id
        if only_responder:
            condition &= OnCallRequest.responder == actor.person_id
        async with atomic():
            moved = await OnCallRequest.update(changes).where(condition).returning(*OnCallRequest.all_columns())
            if moved:
                event_id = await _event(request_id, actor.school_id, kind, actor.person_id, **(detail or {}))
                await audit.record(f"oncall.{kind}", actor_id=actor.person_id, actor_label=actor.label,
                                   school_id=actor.school_id, subject_type="oncall", subject_id=request_id,
                                   origin=actor.origin, detail=detail)
    if not moved:
        current = await _request(actor, request_id)
        if only_requester and current["requester"] != actor.person_id:
            raise NotFound(HIDDEN)
        if current["state"] in ("resolved", "cancelled"):
            raise Conflict(f"This request was already {current['state']}.")
        if current["responder"] and current["responder"] != actor.person_id:
            raise Conflict(f"{await _name(current['responder'])} already has this request.")
        raise Conflict(f"This request is {STATES[current['state']].lower()}: that step does not apply now.")
    await _publish(actor.school_id, [event_id])
    return moved[0]


def _transition_statement(actor: Actor, request_id: int, changes: dict, allowed_from: tuple[str, ...], kind: str,
                          only_requester: bool, only_responder: bool, detail: dict | None) -> tuple[str, list[Any]]:
    """PostgreSQL: `_transition`'s update, its event and its audit entry in one statement (a data-modifying WITH,
    atomic as a transaction is), as the raise is: in a transaction of five round trips a cancel or a claim kept its
    backend, and a pooled connection, idle while it waited its turn on a busy event loop. The same conditions, rows
    and values as the transaction; nothing is written unless the update moved the request. Returns the statement
    (with `{}` placeholders) and its values; it answers the request's row as it now is, with `event_id`."""
    sets = ", ".join(f'"{column._meta.db_column_name}" = {{}}' for column in changes)
    args: list[Any] = list(changes.values())
    where = "id = {} AND school = {} AND state = ANY({}::varchar[])"
    args += [request_id, actor.school_id, list(allowed_from)]
    if only_requester:
        where += " AND requester = {}"
        args.append(actor.person_id)
    if only_responder:
        where += " AND responder = {}"
        args.append(actor.person_id)
    parts = [f"moved AS (UPDATE on_call_request SET {sets} WHERE {where} RETURNING *)"]  # nosec B608  # names only
    event_part, values = _postgres_event("moved", actor.school_id, kind, actor.person_id, detail)
    parts.append(event_part)
    args += values
    event = audit.new_event(f"oncall.{kind}", actor_id=actor.person_id, actor_label=actor.label,
                            school_id=actor.school_id, subject_type="oncall", subject_id=request_id,
                            origin=actor.origin, detail=detail)
    entry, values = audit.postgres_entry(event, subject_id_sql="moved.id::text", source="moved")
    parts.append(f"entry AS ({entry})")
    args += values
    # Column names from the table's own columns and constants; every value is a placeholder.
    sql = "WITH " + ",\n".join(parts) + "\nSELECT moved.*, (SELECT id FROM event) AS event_id FROM moved"  # nosec B608
    return sql, args


async def acknowledge(actor: Actor, request_id: int) -> dict:
    """Claim a request: exactly one responder gets it; a second tap is told who already has it."""
    return await _transition(actor, request_id, allowed_from=("raised",), to="acknowledged", kind="acknowledged",
                             extra={OnCallRequest.responder: actor.person_id, OnCallRequest.escalate_at: None})


async def en_route(actor: Actor, request_id: int) -> dict:
    return await _transition(actor, request_id, allowed_from=("acknowledged",), to="en_route", kind="en_route",
                             only_responder=True)


async def on_scene(actor: Actor, request_id: int) -> dict:
    return await _transition(actor, request_id, allowed_from=("acknowledged", "en_route"), to="on_scene",
                             kind="on_scene", only_responder=True)


async def resolve(actor: Actor, request_id: int, outcome: str) -> dict:
    if outcome not in OUTCOMES:
        raise ValidationFailed({"outcome": "Choose what happened in the end."})
    return await _transition(actor, request_id, allowed_from=("acknowledged", "en_route", "on_scene"), to="resolved",
                             kind="resolved", only_responder=True, extra={OnCallRequest.outcome: outcome},
                             detail={"outcome": outcome})


async def cancel(actor: Actor, request_id: int) -> dict:
    """The requester: "sorted, no longer needed"."""
    return await _transition(actor, request_id, allowed_from=OPEN_STATES, to="cancelled", kind="cancelled",
                             only_requester=True, extra={OnCallRequest.escalate_at: None})


async def hand_over(actor: Actor, request_id: int, to_person: int) -> dict:
    """Hand a claimed request to another responder at the school."""
    # The request first: someone who may not see it gets 404 whatever they named as the new responder.
    row = await _request(actor, request_id)
    if not await can_respond(actor):
        raise NotFound(HIDDEN)
    if to_person not in {c["id"] for c in await hand_over_choices(actor)}:
        raise ValidationFailed({"to": "Choose another responder at this school."})
    state = row["state"]
    result = await _transition(actor, request_id, allowed_from=("acknowledged", "en_route", "on_scene"), to=state,
                               kind="handed_over", only_responder=True, extra={OnCallRequest.responder: to_person},
                               detail={"to": to_person})
    about = await _about(request_id)
    pending = await _alert({to_person}, actor.school_id, request_id, f"On-call handed to you, {about['text']}.")
    await notifications.deliver(pending)
    await _wake({to_person}, {"title": f"On-call handed to you: {about['urgency']}", "body": about["what"],
                              "url": f"/oncall/{request_id}"})
    return result


async def hand_over_choices(actor: Actor) -> list[dict]:
    """Who a claimed request can be handed to: anyone on call now, or with a responding role at the school
    (not the actor, nobody disabled), by name."""
    people = await on_call(actor.school_id, None) | {
        m["person"] for m in await Membership.select(Membership.person).where(
            (Membership.school == actor.school_id) & Membership.role.is_in(["responder", "head_of_year", "pastoral",
                                                                             "dsl"]))}
    people.discard(actor.person_id)
    if not people:
        return []
    rows = await Person.select(Person.id, Person.display_name).where(
        Person.id.is_in(list(people)) & Person.disabled_at.is_null()).order_by(Person.display_name)
    return [{"id": r["id"], "name": r["display_name"]} for r in rows]


async def add_note(actor: Actor, request_id: int, note: str) -> None:
    row = await _request(actor, request_id)
    if row["requester"] != actor.person_id:
        raise NotFound(HIDDEN)
    note = (note or "").strip()
    if not note or len(note) > 500:
        raise ValidationFailed({"note": "Write a note of up to 500 characters."})
    if row["state"] in ("resolved", "cancelled"):
        raise Conflict(f"This request was already {row['state']}.")
    async with atomic():
        await OnCallRequest.update({OnCallRequest.note: (row["note"] + "\n" + note).strip()}).where(
            OnCallRequest.id == request_id)
        event_id = await _event(request_id, actor.school_id, "note", actor.person_id)
    await _publish(actor.school_id, [event_id])


async def escalate_due(now: dt.datetime | None = None) -> int:
    """Escalate every unclaimed request whose time is up (safe to run in every process: each step is taken
    by exactly one, through a conditional update). Returns how many were escalated."""
    now = now or clock.now()
    due = await OnCallRequest.select(OnCallRequest.id, OnCallRequest.school, OnCallRequest.tier,
                                     OnCallRequest.requester, OnCallRequest.urgency).where(
        (OnCallRequest.state == "raised") & OnCallRequest.escalate_at.is_not_null()
        & (OnCallRequest.escalate_at <= now))
    count = 0
    for row in due:
        conf = await settings_for(row["school"])
        tier = row["tier"] + 1
        beyond_top = tier > conf["top_tier"]
        async with atomic():
            moved = await OnCallRequest.update({
                OnCallRequest.tier: tier, OnCallRequest.escalations: OnCallRequest.escalations + 1,
                OnCallRequest.escalate_at: None if beyond_top else now + dt.timedelta(seconds=conf["ack_seconds"]),
            }).where((OnCallRequest.id == row["id"]) & (OnCallRequest.tier == row["tier"])
                     & (OnCallRequest.state == "raised")).returning(OnCallRequest.id)
            if not moved:
                continue
            event_id = await _event(row["id"], row["school"], "escalated", None, tier=tier)
            people = await on_call(row["school"], None if beyond_top else tier)
            people.discard(row["requester"])
            about = await _about(row["id"])
            pending = await _alert(people, row["school"], row["id"],
                                   f"On-call escalated, nobody has answered: {about['text']}.")
            await audit.record("oncall.escalated", school_id=row["school"], subject_type="oncall", subject_id=row["id"],
                               detail={"tier": tier, "alerted": len(people)})
        count += 1
        await notifications.deliver(pending)
        await _publish(row["school"], [event_id])
        await _wake(people, {"title": f"On-call escalated: {about['urgency']}",
                             "body": f"Nobody has answered yet: {about['what']}", "url": f"/oncall/{row['id']}"})
    return count


# Reading ----------------------------------------------------------------------------------------------------

def _pupil_name(row: dict, prefix: str = "") -> str:
    first = row[f"{prefix}preferred_first_name"] or row[f"{prefix}legal_first_name"]
    return f"{first} {row[f'{prefix}preferred_last_name'] or row[f'{prefix}legal_last_name']}"


async def chosen_pupils(actor: Actor, pupil_ids: list[Any]) -> list[dict]:
    """The pupils named on a raise form that the raiser may see (their own school's), with name and form, to
    show on the form; any other id is left out, so nothing of another school is shown."""
    ids = list(dict.fromkeys(p for p in (_int(v) for v in _list(pupil_ids)) if p is not None))
    if not ids or not can_raise(actor):
        return []
    rows = await Pupil.select(Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name, Pupil.preferred_last_name,
                              Pupil.legal_last_name, Pupil.tutor_group.name).where(
        Pupil.id.is_in(ids) & (Pupil.school == actor.school_id))
    by_id = {r["id"]: {"id": r["id"], "name": _pupil_name(r), "form": r["tutor_group.name"] or ""} for r in rows}
    return [by_id[i] for i in ids if i in by_id]


# A card is the request, its room, reason and people's names, and its pupils' names and forms, in order: one row
# per pupil (one with none). One statement for one card or a whole board. Only placeholders are formatted in.
# The names are scalar subqueries, not joins: with eight tables joined, PostgreSQL spent 1.3 ms planning the board
# on every read (its join search) and 0.08 ms running it; four joined tables plan in a fraction of that.
_CARD_SQL = (
    "SELECT " + ", ".join(f'r."{c._meta.db_column_name}" AS "{c._meta.name}"'  # nosec B608
                          for c in OnCallRequest._meta.columns)
    + ', (SELECT name FROM location WHERE id = r.location) AS "location.name", '
    '(SELECT name FROM on_call_reason WHERE id = r.reason) AS "reason.name", '
    '(SELECT display_name FROM person WHERE id = r.requester) AS "requester.display_name", '
    '(SELECT display_name FROM person WHERE id = r.responder) AS "responder.display_name", '
    'op.id AS "link", p.id AS "pupil.id", '
    'p.preferred_first_name AS "pupil.preferred_first_name", p.legal_first_name AS "pupil.legal_first_name", '
    'p.preferred_last_name AS "pupil.preferred_last_name", p.legal_last_name AS "pupil.legal_last_name", '
    'tg.name AS "pupil.tutor_group.name" '
    "FROM on_call_request r LEFT JOIN on_call_pupil op ON op.request = r.id "
    "LEFT JOIN pupil p ON p.id = op.pupil LEFT JOIN tutor_group tg ON tg.id = p.tutor_group "
    "WHERE %s ORDER BY r.id, op.id")
_ONE_CARD_SQL = _CARD_SQL % "r.id = {}"
_BOARD_SQL = _CARD_SQL % ("r.school = {} AND r.state IN (%s)" % ", ".join("{}" for _ in OPEN_STATES))
_PUPIL_KEYS = ("link", "pupil.id", "pupil.preferred_first_name", "pupil.legal_first_name", "pupil.preferred_last_name",
               "pupil.legal_last_name", "pupil.tutor_group.name")


def _cards(rows: list[dict]) -> list[dict]:
    """Cards from _CARD_SQL's rows, in the rows' order."""
    cards: dict[int, dict] = {}
    for row in rows:
        c = cards.get(row["id"])
        if c is None:
            c = cards[row["id"]] = {k: v for k, v in row.items() if k not in _PUPIL_KEYS}
            c["pupils"] = []
            c["rank"] = URGENCY_RANK[c["urgency"]]
            c["open"] = c["state"] in OPEN_STATES
        # The pupil's name and form: what a responder (and the teacher who named them) may see. Only on the card,
        # which goes to the school's responders and the requester; never in an alert or a push.
        if row["link"] is not None and row["pupil.id"] is not None:
            c["pupils"].append({"id": row["pupil.id"], "name": _pupil_name(row, "pupil."),
                                "form": row["pupil.tutor_group.name"] or ""})
    return list(cards.values())


async def card(request_id: int) -> dict | None:
    """Everything the request card shows (the board and the requester's page render the same partial)."""
    cards = _cards(await OnCallRequest.raw(_ONE_CARD_SQL, request_id))
    return cards[0] if cards else None


async def board(actor: Actor) -> list[dict]:
    """Open requests at the school, most urgent and newest first: every card in one read."""
    if not await can_respond(actor):
        raise NotFound(HIDDEN)
    return await _board_cards(actor.school_id)


async def _board_cards(school_id: int) -> list[dict]:
    cards = _cards(await OnCallRequest.raw(_BOARD_SQL, school_id, *OPEN_STATES))
    return sorted(cards, key=lambda c: (c["rank"], -c["raised_at"].timestamp()))


_BOARD_STATE_SQL = ("SELECT (SELECT MAX(id) FROM on_call_event WHERE school = {}) AS last_event, "
                    'EXISTS (SELECT 1 FROM on_duty WHERE person = {} AND school = {} AND since <= {} AND "until" > {}) '
                    "AS on_duty")


async def board_page(actor: Actor) -> dict[str, Any]:
    """The board page in two reads: the school's last event id (read before the cards: the page's stream resumes
    from it, so nothing that happens after the cards are read is missed) with whether the actor is on duty, then
    the cards (as board())."""
    if not await can_respond(actor):
        raise NotFound(HIDDEN)
    now = clock.now()
    state = (await OnCallEvent.raw(_BOARD_STATE_SQL, actor.school_id, actor.person_id, actor.school_id, now, now))[0]
    cards = await _board_cards(actor.school_id)
    return {"after": state["last_event"] or 0, "on_duty": bool(state["on_duty"]), "cards": cards}


async def may_view(actor: Actor, request_id: int) -> bool:
    """Whether the actor may see the request: its requester, or anyone at its school who may respond."""
    if actor.school_id is None:
        return False
    row = await OnCallRequest.select(OnCallRequest.requester).where(
        (OnCallRequest.id == request_id) & (OnCallRequest.school == actor.school_id)).first()
    return row is not None and (row["requester"] == actor.person_id or await can_respond(actor))


async def view(actor: Actor, request_id: int) -> dict:
    """A request for its requester or anyone who may respond."""
    if not await may_view(actor, request_id):
        raise NotFound(HIDDEN)
    return await card(request_id)


async def latest_event_id(school_id: int) -> int:
    row = await OnCallEvent.select(OnCallEvent.id).where(OnCallEvent.school == school_id).order_by(
        OnCallEvent.id, ascending=False).first()
    return row["id"] if row else 0


async def events_since(school_id: int, last_id: int, request_id: int | None = None, limit: int = 500) -> list[dict]:
    """What a reconnecting client missed, in order."""
    last_id = min(max(last_id, 0), MAX_ID)  # Last-Event-ID comes from the client: keep it in the column's range
    query = OnCallEvent.select(OnCallEvent.id, OnCallEvent.request, OnCallEvent.kind).where(
        (OnCallEvent.school == school_id) & (OnCallEvent.id > last_id))
    if request_id is not None:
        query = query.where(OnCallEvent.request == request_id)
    return await query.order_by(OnCallEvent.id).limit(limit)


async def event(event_id: int, school_id: int) -> dict | None:
    """One of the school's events (another school's event id finds nothing)."""
    return await OnCallEvent.select(OnCallEvent.id, OnCallEvent.request, OnCallEvent.kind, OnCallEvent.school).where(
        (OnCallEvent.id == event_id) & (OnCallEvent.school == school_id)).first()


# Reporting --------------------------------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def report(actor: Actor, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Requests between two dates (UK days, inclusive): who, where, why, how fast, how often escalated."""
    if actor.school_id is None or not actor.has("head_of_year", "admin", "dsl"):
        raise NotFound(HIDDEN)
    since = dt.datetime.combine(start, dt.time(), LONDON).astimezone(dt.timezone.utc)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), LONDON).astimezone(dt.timezone.utc)
    rows = await OnCallRequest.select(
        OnCallRequest.id, OnCallRequest.raised_at, OnCallRequest.acknowledged_at, OnCallRequest.resolved_at,
        OnCallRequest.state, OnCallRequest.urgency, OnCallRequest.escalations, OnCallRequest.outcome,
        OnCallRequest.location.name, OnCallRequest.reason.name, OnCallRequest.requester.display_name,
        OnCallRequest.responder.display_name,
    ).where((OnCallRequest.school == actor.school_id) & (OnCallRequest.raised_at >= since)
            & (OnCallRequest.raised_at < until)).order_by(OnCallRequest.raised_at)
    ack = [(r["acknowledged_at"] - r["raised_at"]).total_seconds() for r in rows if r["acknowledged_at"]]
    res = [(r["resolved_at"] - r["raised_at"]).total_seconds() for r in rows if r["resolved_at"]]

    def tally(key: Callable[[dict], str]) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for r in rows:
            counts[key(r)] = counts.get(key(r), 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    for r in rows:
        r["local"] = r["raised_at"].astimezone(LONDON)
        r["ack_seconds"] = (r["acknowledged_at"] - r["raised_at"]).total_seconds() if r["acknowledged_at"] else None
        r["resolve_seconds"] = (r["resolved_at"] - r["raised_at"]).total_seconds() if r["resolved_at"] else None
    async with atomic():
        await audit.record("oncall.report_viewed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, origin=actor.origin,
                           detail={"from": start.isoformat(), "to": end.isoformat()})
    return {
        "rows": rows, "count": len(rows), "escalations": sum(r["escalations"] for r in rows),
        "ack_median": statistics.median(ack) if ack else None, "ack_p90": _percentile(ack, 90),
        "resolve_median": statistics.median(res) if res else None, "resolve_p90": _percentile(res, 90),
        "by_day": tally(lambda r: r["local"].strftime("%Y-%m-%d")),
        "by_hour": tally(lambda r: r["local"].strftime("%H:00")),
        "by_location": tally(lambda r: r["location.name"]), "by_reason": tally(lambda r: r["reason.name"]),
        "by_requester": tally(lambda r: r["requester.display_name"]),
    }


# Rota and settings (admins) -----------------------------------------------------------------------------------

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_TIME = __import__("re").compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _require_admin(actor: Actor) -> None:
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound(HIDDEN)


async def rota(actor: Actor) -> dict[str, Any]:
    """The school's weekly rota, date overrides from today, settings, reasons and who can be put on it."""
    _require_admin(actor)
    today = clock.now().astimezone(LONDON).date()
    slots = await RotaSlot.select(RotaSlot.id, RotaSlot.weekday, RotaSlot.starts, RotaSlot.ends, RotaSlot.tier,
                                  RotaSlot.person.display_name).where(RotaSlot.school == actor.school_id).order_by(
        RotaSlot.weekday).order_by(RotaSlot.starts).order_by(RotaSlot.tier)
    overrides = await RotaOverride.select(RotaOverride.id, RotaOverride.on_date, RotaOverride.tier, RotaOverride.on_call,
                                          RotaOverride.person.display_name).where(
        (RotaOverride.school == actor.school_id) & (RotaOverride.on_date >= today)).order_by(RotaOverride.on_date)
    people = await Membership.select(Membership.person.id, Membership.person.display_name).where(
        (Membership.school == actor.school_id) & Membership.role.is_in(["responder", "head_of_year", "pastoral", "dsl"])
        & Membership.person.disabled_at.is_null()).distinct().order_by(Membership.person.display_name)
    return {"slots": slots, "overrides": overrides, "settings": await settings_for(actor.school_id),
            "reasons": await reasons(actor.school_id), "people": people, "weekdays": WEEKDAYS}


async def _responder_here(actor: Actor, person_id: int | None) -> bool:
    return person_id is not None and await Membership.exists().where(
        (Membership.school == actor.school_id) & (Membership.person == person_id))


async def add_slot(actor: Actor, form: dict[str, Any]) -> None:
    _require_admin(actor)
    errors = {}
    person, weekday, tier = _int(form.get("person_id")), _int(form.get("weekday")), _int(form.get("tier"))
    starts, ends = str(form.get("starts") or ""), str(form.get("ends") or "")
    if not await _responder_here(actor, person):
        errors["person"] = "Choose someone at this school."
    if weekday is None or not 0 <= weekday <= 6:
        errors["weekday"] = "Choose a day."
    if not (_TIME.match(starts) and _TIME.match(ends)) or starts >= ends:
        errors["times"] = "Give a start and an end time like 08:40 and 15:20, the end after the start."
    if tier is None or not 1 <= tier <= 5:
        errors["tier"] = "The tier is a number from 1 to 5."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        slot = RotaSlot(school=actor.school_id, person=person, weekday=weekday, starts=starts, ends=ends, tier=tier)
        await slot.save()
        await audit.record("rota.slot_added", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="rota", subject_id=slot.id, origin=actor.origin,
                           detail={"person": person, "weekday": weekday, "starts": starts, "ends": ends, "tier": tier})


async def remove_slot(actor: Actor, slot_id: int) -> None:
    _require_admin(actor)
    async with atomic():
        gone = await RotaSlot.delete().where((RotaSlot.id == slot_id) & (RotaSlot.school == actor.school_id)).returning(
            RotaSlot.id)
        if not gone:
            raise NotFound(HIDDEN)
        await audit.record("rota.slot_removed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="rota", subject_id=slot_id, origin=actor.origin)


async def add_override(actor: Actor, form: dict[str, Any]) -> None:
    _require_admin(actor)
    errors = {}
    person, tier = _int(form.get("person_id")), _int(form.get("tier"))
    if not await _responder_here(actor, person):
        errors["person"] = "Choose someone at this school."
    on_date = parse_date(form.get("on_date"))
    if on_date is None:
        errors["on_date"] = "Choose a date."
    elif on_date < clock.now().astimezone(LONDON).date():
        errors["on_date"] = "Choose today or a later date."
    if tier is None or not 1 <= tier <= 5:
        errors["tier"] = "The tier is a number from 1 to 5."
    if errors:
        raise ValidationFailed(errors)
    on_call_flag = form.get("on_call") != "no"
    async with atomic():
        row = RotaOverride(school=actor.school_id, person=person, on_date=on_date, tier=tier, on_call=on_call_flag)
        await row.save()
        await audit.record("rota.override_added", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="rota", subject_id=row.id, origin=actor.origin,
                           detail={"person": person, "date": on_date.isoformat(), "on_call": on_call_flag})


async def update_settings(actor: Actor, ack_seconds: Any, top_tier: Any) -> None:
    _require_admin(actor)
    ack, top = _int(ack_seconds), _int(top_tier)
    errors = {}
    if ack is None or not 15 <= ack <= 900:
        errors["ack_seconds"] = "Give a time to acknowledge between 15 and 900 seconds."
    if top is None or not 1 <= top <= 5:
        errors["top_tier"] = "The top tier is a number from 1 to 5."
    if errors:
        raise ValidationFailed(errors)
    async with atomic():
        await ensure_defaults(actor.school_id)
        await OnCallSettings.update({OnCallSettings.ack_seconds: ack, OnCallSettings.top_tier: top}).where(
            OnCallSettings.school == actor.school_id)
        await audit.record("oncall.settings_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, origin=actor.origin, detail={"ack_seconds": ack, "top_tier": top})
