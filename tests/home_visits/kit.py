"""Helpers for the home-visit tests: a school with a pastoral lead, a second pastoral officer, pupils (one
flagged), actors for the service calls, and a visit planned, checked and authorised in one call."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisit
from app.domain.pupils.tables import Pupil
from app.domain.schools import service as schools
from app.domain.schools.service import GUEST_PASS
from app.domain.schools.tables import Membership, Person
from tests.conftest import Member, add_pupil

# A Tuesday morning in December (GMT): 10:00 in the UK.
MORNING = dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.timezone.utc)


async def actor_for(settings, member: Member):
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))


async def _member(email: str, name: str, school_id: int, roles: list[str]) -> Member:
    pid = await schools.add_person(email=email, display_name=name, school_id=school_id, roles=roles, actor=None,
                                   origin=Origin(ip="test"))
    return Member(pid, email, name, school_id)


@dataclass
class World:
    cast: object
    lead: Member
    pastoral2: Member
    pupil: int  # Ada, year 9, with a brother in year 11
    brother: int
    flagged: int  # Fin, year 9, speak to the DSL
    elsewhere: int  # a pupil of the other school
    actors: dict


async def world(cast, settings, frozen_clock) -> World:
    frozen_clock.current = MORNING
    # The cast's guest (a cover teacher) got their 12-hour pass when the cast was made, on the machine's clock, so
    # whether it had ended by MORNING depended on the hour the tests ran (it ended before MORNING only when they ran
    # before 22:00 UTC on 7 December 2026). A pass given this morning: a guest on a valid pass, as at school.
    await Person.update({Person.guest_until: MORNING + GUEST_PASS}).where(Person.id == cast.guest.id)
    lead = await _member("lead@northbridge.example", "Lee Lead", cast.school_id, ["staff", "pastoral_lead"])
    pastoral2 = await _member("pastoral2@northbridge.example", "Pip Second", cast.school_id, ["staff", "pastoral"])
    pupil = await add_pupil(cast.school_id, "Ada", "Able", year="9", form="9A", family_key="F1")
    brother = await add_pupil(cast.school_id, "Ben", "Able", year="11", form="11A", family_key="F1")
    flagged = await add_pupil(cast.school_id, "Fin", "Flagg", year="9", form="9A", speak_to_dsl=True)
    elsewhere = await add_pupil(cast.other_school_id, "Eve", "Else", year="9", form="9Z")
    await Membership.update({Membership.years: "11"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))
    actors = {}
    for name in ("teacher", "responder", "pastoral", "head_of_year", "dsl", "admin", "guest", "outsider"):
        actors[name] = await actor_for(settings, getattr(cast, name))
    actors["lead"] = await actor_for(settings, lead)
    actors["pastoral2"] = await actor_for(settings, pastoral2)
    return World(cast, lead, pastoral2, pupil, brother, flagged, elsewhere, actors)


def form(w: World, **changes) -> dict:
    data = {"pupil_id": str(w.pupil), "address": "12 Mill Lane, Northbridge NB1 2AB",
            "purpose": "Ada has been absent three days; check she is safe and well", "date": "2026-12-08",
            "start": "10:30", "minutes": "45", "staff_1": str(w.cast.pastoral.id), "phone_1": "07700 900111",
            "staff_2": str(w.pastoral2.id), "phone_2": "07700 900222", "buddy": str(w.cast.responder.id),
            "pack_notes": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


CHECKLIST = {"check_adults_dogs": "Mum's partner may be there; one dog, friendly",
             "check_past_incidents": "None recorded", "check_social_worker": "no_worker", "check_purpose_agreed": "yes"}


async def plan(w: World, by: str = "pastoral", **changes) -> int:
    return (await visits.plan_visit(w.actors[by], form(w, **changes), key=str(uuid.uuid4()), digest="d"))["id"]


async def authorised(w: World, **changes) -> int:
    vid = await plan(w, **changes)
    await visits.complete_checklist(w.actors["pastoral"], vid, CHECKLIST)
    await visits.authorise(w.actors["lead"], vid)
    return vid


async def started(w: World, **changes) -> int:
    vid = await authorised(w, **changes)
    await visits.start(w.actors["pastoral"], vid, key=str(uuid.uuid4()), digest="s")
    return vid


async def row(vid: int) -> dict:
    return await HomeVisit.select().where(HomeVisit.id == vid).first()


async def set_flag(pupil_id: int, **flags) -> None:
    await Pupil.update({getattr(Pupil, k): v for k, v in flags.items()}).where(Pupil.id == pupil_id)
