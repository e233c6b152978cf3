"""Records of every kind retention covers, made directly (each feature's own tests cover how they are made)."""

from __future__ import annotations

import datetime as dt

from app import clock
from app.domain.casework.tables import Case, CaseReview, CaseTarget, CaseType
from app.domain.chronology.tables import ChronologyFlag
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.contact_log.tables import ContactLog
from app.domain.incidents.tables import Category, FollowUpAction, Incident, IncidentPupil, Location, Statement
from app.domain.interventions.tables import Instrument, Measure, Participant, Programme
from app.domain.notifications.tables import Alert, AlertRecipient
from app.domain.oncall.tables import OnCallEvent, OnCallPupil, OnCallReason, OnCallRequest
from app.domain.referrals.tables import Referral, ReferralEvent, ReferralService

_seq = {"n": 0}


def _next() -> int:
    _seq["n"] += 1
    return _seq["n"]


async def concern(school: int, pupil: int, by: int, *, at: dt.datetime | None = None) -> int:
    at = at or clock.now()
    row = Concern(school=school, pupil=pupil, reference=f"C-T{_next():05d}", author=by, occurred_at=at,
                  seen_or_said="SECRET-CONCERN-TEXT", recorded_at=at)
    await row.save()
    await ConcernEntry.insert(ConcernEntry(concern=row.id, kind="action", body="Called social care", by=by, at=at))
    return row.id


async def incident(school: int, pupils: list[int], by: int, *, at: dt.datetime | None = None) -> int:
    at = at or clock.now()
    category = await Category.select(Category.id).where(Category.school == school).first()
    if not category:
        c = Category(school=school, kind="negative", name="Disruption", severity=1, points=-1)
        await c.save()
        category = {"id": c.id}
    row = Incident(school=school, occurred_at=at, note="SECRET-INCIDENT-NOTE", recorded_by=by, recorded_at=at)
    await row.save()
    for pupil in pupils:
        entry = IncidentPupil(incident=row.id, pupil=pupil, role="involved", category=category["id"], updated_at=at)
        await entry.save()
        await FollowUpAction.insert(FollowUpAction(incident_pupil=entry.id, action="detention", by=by, at=at))
    await Statement.insert(Statement(incident=row.id, kind="staff", body="I saw it", author=by, at=at))
    return row.id


async def casework(school: int, pupil: int, by: int, *, at: dt.datetime | None = None) -> dict[str, int]:
    """A closed case with a target and review, a referral with an event, an intervention place with a measure, a
    contact log entry and a chronology mark, all dated `at`."""
    at = at or clock.now()
    ctype = await CaseType.select(CaseType.id).where(CaseType.school == school).first()
    if not ctype:
        t = CaseType(school=school, name="Pastoral")
        await t.save()
        ctype = {"id": t.id}
    case = Case(school=school, pupil=pupil, keyworker=by, case_type=ctype["id"], reason="Friendships",
                started_on=at.date(), status="closed", closed_on=at.date(), opened_by=by, created_at=at, updated_at=at)
    await case.save()
    await CaseTarget.insert(CaseTarget(case=case.id, text="Join a club", created_at=at))
    await CaseReview.insert(CaseReview(case=case.id, held_on=at.date(), by=by, created_at=at))
    service = await ReferralService.select(ReferralService.id).where(ReferralService.school == school).first()
    if not service:
        s = ReferralService(school=school, name="CAMHS", created_at=at)
        await s.save()
        service = {"id": s.id}
    referral = Referral(school=school, pupil=pupil, service=service["id"], owner=by, reason="Low mood",
                        created_by=by, created_at=at, updated_at=at)
    await referral.save()
    await ReferralEvent.insert(ReferralEvent(referral=referral.id, to_state="draft", by=by, at=at))
    programme = await Programme.select(Programme.id).where(Programme.school == school).first()
    if not programme:
        instrument = Instrument(school=school, kind="goals", name="Goals", created_at=at)
        await instrument.save()
        p = Programme(school=school, name="Anger management", kind="group", facilitator=by, instrument=instrument.id,
                      starts_on=at.date(), created_by=by, created_at=at)
        await p.save()
        programme = {"id": p.id}
    place = Participant(programme=programme["id"], pupil=pupil, added_at=at)
    await place.save()
    await Measure.insert(Measure(participant=place.id, stage="baseline", taken_on=at.date(), score=3, by=by,
                                 created_at=at))
    log = ContactLog(school=school, pupil=pupil, method="phone", direction="out", outcome="spoke", occurred_at=at,
                     summary="SECRET-CALL-SUMMARY", recorded_by=by, created_at=at)
    await log.save()
    flag = ChronologyFlag(school=school, pupil=pupil, ref=f"contact:{log.id}", set_by=by, set_at=at)
    await flag.save()
    return {"case": case.id, "referral": referral.id, "participant": place.id, "contact": log.id, "flag": flag.id}


async def oncall(school: int, pupils: list[int], by: int, *, at: dt.datetime | None = None) -> int:
    at = at or clock.now()
    location = await Location.select(Location.id).where(Location.school == school).first()
    if not location:
        loc = Location(school=school, name="Hall")
        await loc.save()
        location = {"id": loc.id}
    reason = OnCallReason(school=school, name="Disruption")
    await reason.save()
    request = OnCallRequest(school=school, requester=by, location=location["id"], reason=reason.id, urgency="routine",
                            state="resolved", raised_at=at, resolved_at=at)
    await request.save()
    for pupil in pupils:
        await OnCallPupil.insert(OnCallPupil(request=request.id, pupil=pupil))
    await OnCallEvent.insert(OnCallEvent(school=school, request=request.id, kind="raised", actor=by, at=at))
    return request.id


async def alert(school: int, person: int, *, at: dt.datetime | None = None) -> int:
    at = at or clock.now()
    row = Alert(school=school, kind="incident", text="An incident was logged", created_at=at)
    await row.save()
    await AlertRecipient.insert(AlertRecipient(alert=row.id, person=person, school=school))
    return row.id


async def marks(school: int, pupil: int, days: list[dt.date]) -> None:
    """An AM mark for each day, each amended once (so each has a history row)."""
    from app.domain.attendance.tables import AttendanceMark, AttendanceMarkChange

    for day in days:
        mark = AttendanceMark(school=school, pupil=pupil, day=day, session="AM", code="/", created_at=clock.now())
        await mark.save()
        await AttendanceMarkChange.insert(AttendanceMarkChange(mark=mark.id, school=school, old_code="N",
                                                               new_code="/", changed_at=clock.now()))


async def home_visit(school: int, pupils: list[int], by: int, *, at: dt.datetime | None = None,
                     state: str = "finished_safe") -> int:
    from app.domain.home_visits.tables import HomeVisit, HomeVisitEvent, HomeVisitPupil, HomeVisitStaff

    at = at or clock.now()
    visit = HomeVisit(school=school, planner=by, address="SECRET-ADDRESS", purpose="Welfare check", planned_start=at,
                      planned_end=at + dt.timedelta(hours=1), state=state, created_at=at)
    await visit.save()
    for pupil in pupils:
        await HomeVisitPupil.insert(HomeVisitPupil(visit=visit.id, pupil=pupil))
    await HomeVisitStaff.insert(HomeVisitStaff(visit=visit.id, person=by))
    await HomeVisitEvent.insert(HomeVisitEvent(school=school, visit=visit.id, kind="planned", actor=by, at=at))
    return visit.id
