"""Helpers for the subject access tests: a pupil with a record of every kind Corridor holds (the chronology kit's
records, plus contacts, a case plan, intervention sessions, attendance marks, a home visit with a sibling and two
safeguarding concerns), other pupils named in them, and the request's HTTP steps."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from app.domain.attendance.tables import AttendanceMark
from app.domain.casework.tables import CaseAction
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.home_visits.tables import HomeVisit, HomeVisitPupil
from app.domain.interventions.tables import Attendance, Participant, ProgrammeSession
from app.domain.pupils.tables import Contact, Pupil
from tests.case_pack.kit import pdf_text  # noqa: F401  (re-exported for the tests)
from tests.chronology.kit import at, everything
from tests.conftest import add_pupil, post_form, sign_in

SECRET = "Disclosed that her uncle hits her"
RELEASED = "Seemed hungry at breakfast club"


async def story(cast) -> dict:
    """Mia Brook (year 9) with every kind of record; Sam Other named with her in an incident and an on-call
    request; her brother Leo Brook on a home visit; one concern to withhold and one to release."""
    ids = await everything(cast)
    s, mia, dsl = cast.school_id, ids["pupil"], cast.dsl.id
    await Pupil.update({Pupil.medical_alert: "Asthma", Pupil.allergies: "Peanuts", Pupil.sen_provision: "K",
                        Pupil.date_of_birth: dt.date(2012, 3, 4), Pupil.upn: "A123456789012"}).where(Pupil.id == mia)
    await Contact.insert(Contact(pupil=mia, name="Mrs Brook", relationship="Mother", phone="07700 900123"))
    await CaseAction.insert(CaseAction(case=ids["case"], who="Pat", what="Weekly check-in with Sam Other's tutor",
                                       created_at=at(9)),
                            CaseAction(case=ids["case"], who="Mum", what="Walk her to the gate", created_at=at(9)))
    part = await Participant.select(Participant.id).where(Participant.pupil == mia).first()
    session = ProgrammeSession(programme=ids["intervention"], held_on=dt.date(2026, 11, 7), notes="",
                               by=cast.pastoral.id, created_at=at(7))
    await session.save()
    await Attendance.insert(Attendance(session=session.id, participant=part["id"], mark="attended",
                                       note="Joined in well"))
    await AttendanceMark.insert(
        AttendanceMark(school=s, pupil=mia, day=dt.date(2026, 11, 2), session="AM", code="/", created_at=at(2)),
        AttendanceMark(school=s, pupil=mia, day=dt.date(2026, 11, 2), session="PM", code="M", created_at=at(2)))
    leo = await add_pupil(s, "Leo", "Brook", year="7", form="7A")
    visit = HomeVisit(school=s, planner=cast.pastoral.id, address="14 Elm Road", purpose="Check on attendance",
                      planned_start=at(14), planned_end=at(14, 11), state="finished_safe",
                      outcome_notes="Spoke with Mum; Leo Brook was home too", created_at=at(13))
    await visit.save()
    await HomeVisitPupil.insert(HomeVisitPupil(visit=visit.id, pupil=mia), HomeVisitPupil(visit=visit.id, pupil=leo))
    # The kit's concern (bruise) stays; a second to withhold and a third to release.
    hidden = Concern(school=s, pupil=mia, reference="C-HIDE01", author=cast.teacher.id, occurred_at=at(15),
                     seen_or_said=SECRET, childs_words="Don't tell him", recorded_at=at(15), status="open")
    await hidden.save()
    await ConcernEntry.insert(ConcernEntry(concern=hidden.id, kind="action", body="Strategy meeting called",
                                           by=dsl, at=at(16)))
    shown = Concern(school=s, pupil=mia, reference="C-SHOW01", author=cast.teacher.id, occurred_at=at(17),
                    seen_or_said=RELEASED, recorded_at=at(17), status="open")
    await shown.save()
    return {**ids, "leo": leo, "hidden": hidden.id, "shown": shown.id}


async def start(client, settings, member, pupil_id: int, key: str | None = None, **fields):
    """Sign in, fill the request form and return the response (followed to the review page)."""
    await sign_in(client, settings, member)
    page = f"/subject-access/new?pupil={pupil_id}"
    await client.get(page)
    data = {"pupil_id": str(pupil_id), "requester_name": "Mrs Brook", "requester_relationship": "Mother",
            "received_on": "2026-11-20", "staff_names": "keep", "idempotency_key": key or str(uuid.uuid4())}
    data.update(fields)
    return await post_form(client, "/subject-access/", data, page=page)


def request_id(response) -> int:
    match = re.search(r"/subject-access/(\d+)", str(response.url))
    assert match, response.url
    return int(match.group(1))


async def decide(client, number: int, concern_id: int, decision: str, reason: str = ""):
    return await post_form(client, f"/subject-access/{number}/decisions",
                           {"concern_id": str(concern_id), "decision": decision, "reason": reason},
                           page=f"/subject-access/{number}")


async def decide_all(client, ids: dict, number: int, reason: str = "serious harm to the child (DPA 2018)"):
    assert (await decide(client, number, ids["concern"], "release")).status_code == 200
    assert (await decide(client, number, ids["hidden"], "withhold", reason)).status_code == 200
    assert (await decide(client, number, ids["shown"], "release")).status_code == 200
