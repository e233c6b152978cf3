"""Small helpers for the intervention tests: an actor, an instrument, a programme with pupils, registers, measures."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.interventions import service as interventions
from app.domain.interventions.tables import Instrument, Participant
from tests.conftest import post_form, sign_in


async def actor_for(settings, member):
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))


async def instrument(actor, name: str = "Confidence scale", *, low="0", high="20", direction="higher",
                     threshold="12", kind="scale", holder="") -> int:
    return await interventions.add_instrument(actor, {"kind": kind, "name": name, "low": low, "high": high,
                                                      "direction": direction, "threshold": threshold,
                                                      "licence_holder": holder})


async def goals_instrument(school_id: int) -> int:
    await interventions.ensure_goals(school_id)
    return (await Instrument.select(Instrument.id).where(
        (Instrument.school == school_id) & (Instrument.kind == "goals")).first())["id"]


def programme_form(facilitator: int, instrument_used: int, **overrides) -> dict:
    return {"name": "Calm Minds", "kind": "group", "aims": "Fewer panics in lessons",
            "facilitator_id": str(facilitator), "planned_sessions": "6", "cost": "1000",
            "instrument_id": str(instrument_used), "starts_on": "2026-09-07", **overrides}


async def programme(actor, instrument_used: int, **overrides) -> int:
    return await interventions.create_programme(actor, programme_form(actor.person_id, instrument_used, **overrides))


async def enrol(actor, programme_id: int, pupil_id: int, goals: str = "") -> int:
    await interventions.add_pupil(actor, programme_id, {"pupil_id": str(pupil_id), "goals": goals})
    return (await Participant.select(Participant.id).where(
        (Participant.programme == programme_id) & (Participant.pupil == pupil_id)).first())["id"]


async def register(actor, programme_id: int, held_on: dt.date, marks: dict[int, str], notes: str = "") -> int:
    form = {"held_on": held_on.isoformat(), "notes": notes,
            **{f"mark_{p}": m for p, m in marks.items()}}
    return await interventions.take_register(actor, programme_id, form)


async def measure(actor, programme_id: int, participant_id: int, stage: str, on: dt.date, score=None,
                  rater: str = "Pupil", **goals) -> None:
    form = {"stage": stage, "taken_on": on.isoformat(), "rater": rater, **goals}
    if score is not None:
        form["score"] = str(score)
    await interventions.record_measure(actor, programme_id, participant_id, form)


async def http_programme(client, settings, member, instrument_used: int, key: str | None = None, **overrides) -> object:
    await sign_in(client, settings, member)
    return await post_form(client, "/interventions/", {**programme_form(member.id, instrument_used, **overrides),
                                                        "idempotency_key": key or str(uuid.uuid4())})
