"""Small helpers for the chronology tests: a pupil with one record of every source at known times, written
straight into the features' tables (the features' own tests cover how those records are made)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.casework.service import ensure_types
from app.domain.casework.tables import Case, CaseReview, CaseTarget, CaseType, TargetRating
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.contact_log.tables import ContactLog
from app.domain.incidents.tables import Category, FollowUpAction, Incident, IncidentPupil, Location
from app.domain.interventions.tables import Instrument, Measure, Participant, Programme
from app.domain.oncall.tables import OnCallPupil, OnCallReason, OnCallRequest
from app.domain.referrals.tables import Referral, ReferralEvent, ReferralService
from tests.conftest import add_pupil

LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    """A moment in November 2026 (UK time), as stored (UTC)."""
    return dt.datetime(2026, month, day, hour, 0, tzinfo=LONDON).astimezone(dt.timezone.utc)


async def actor_for(settings, member):
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))


async def incident(school_id: int, by: int, when: dt.datetime, pupils: list[tuple[int, str]], *,
                   category: str = "Fighting", note: str = "Pushed in the lunch queue", outcome: str = "",
                   actions: list[tuple[str, str]] = ()) -> int:
    cat = await Category.select(Category.id).where((Category.school == school_id) & (Category.name == category)).first()
    if cat:
        cat_id = cat["id"]
    else:
        row = Category(school=school_id, kind="negative", name=category, severity=2, points=-3)
        await row.save()
        cat_id = row.id
    loc = Location(school=school_id, name="Canteen")
    await loc.save()
    inc = Incident(school=school_id, location=loc.id, occurred_at=when, note=note, recorded_by=by, recorded_at=when,
                   outcome=outcome)
    await inc.save()
    for pupil_id, role in pupils:
        ip = IncidentPupil(incident=inc.id, pupil=pupil_id, role=role, category=cat_id, points=-3, updated_at=when)
        await ip.save()
        if role == "instigator":
            for action, text in actions:
                await FollowUpAction.insert(FollowUpAction(incident_pupil=ip.id, action=action, note=text, by=by,
                                                           at=when))
    return inc.id


async def contact(school_id: int, pupil_id: int, by: int, when: dt.datetime, *, summary: str = "Mum worried about sleep",
                  follow_up_on: dt.date | None = None) -> int:
    row = ContactLog(school=school_id, pupil=pupil_id, with_label="Mrs Brook (Mother)", method="phone", direction="out",
                     outcome="spoke", occurred_at=when, summary=summary, recorded_by=by, created_at=when,
                     follow_up_on=follow_up_on)
    await row.save()
    return row.id


async def referral(school_id: int, pupil_id: int, by: int, drafted: dt.datetime, sent: dt.datetime) -> int:
    service = ReferralService(school=school_id, name="CAMHS", created_at=drafted)
    await service.save()
    ref = Referral(school=school_id, pupil=pupil_id, service=service.id, owner=by, reason="Low mood for weeks",
                   state="sent", sent_at=sent, created_by=by, created_at=drafted, updated_at=sent)
    await ref.save()
    await ReferralEvent.insert(
        ReferralEvent(referral=ref.id, from_state="", to_state="draft", note="Referral drafted.", by=by, at=drafted),
        ReferralEvent(referral=ref.id, from_state="draft", to_state="sent", note="Emailed the form", by=by, at=sent))
    return ref.id


async def intervention(school_id: int, pupil_id: int, by: int, joined: dt.datetime, baseline_on: dt.date) -> int:
    inst = Instrument(school=school_id, kind="scale", name="Confidence scale", created_at=joined)
    await inst.save()
    prog = Programme(school=school_id, name="Calm Minds", kind="group", facilitator=by, instrument=inst.id,
                     starts_on=baseline_on, created_by=by, created_at=joined)
    await prog.save()
    part = Participant(programme=prog.id, pupil=pupil_id, goals="Sleep better", added_at=joined)
    await part.save()
    await Measure.insert(Measure(participant=part.id, stage="baseline", taken_on=baseline_on, score=4, by=by,
                                 created_at=joined))
    return prog.id


async def case(school_id: int, pupil_id: int, keyworker: int, started: dt.datetime, reviewed: dt.datetime) -> int:
    await ensure_types(school_id)
    kind = (await CaseType.select(CaseType.id).where(CaseType.school == school_id).first())["id"]
    row = Case(school=school_id, pupil=pupil_id, keyworker=keyworker, case_type=kind, reason="Friendship breakdown",
               started_on=started.astimezone(LONDON).date(), opened_by=keyworker, created_at=started,
               updated_at=started)
    await row.save()
    target = CaseTarget(case=row.id, text="Eat lunch with a friend", created_at=started)
    await target.save()
    review = CaseReview(case=row.id, held_on=reviewed.astimezone(LONDON).date(), notes="Going better", by=keyworker,
                        created_at=reviewed)
    await review.save()
    await TargetRating.insert(TargetRating(review=review.id, target=target.id, rating=7, state="met"))
    return row.id


async def oncall(school_id: int, by: int, when: dt.datetime, pupils: list[int]) -> int:
    reason = OnCallReason(school=school_id, name="Remove a pupil")
    await reason.save()
    loc = Location(school=school_id, name="Room 12")
    await loc.save()
    req = OnCallRequest(school=school_id, requester=by, location=loc.id, reason=reason.id, urgency="urgent",
                        state="resolved", raised_at=when, resolved_at=when, outcome="removed")
    await req.save()
    for p in pupils:
        await OnCallPupil.insert(OnCallPupil(request=req.id, pupil=p))
    return req.id


async def concern(school_id: int, pupil_id: int, by: int, dsl: int, when: dt.datetime, acted: dt.datetime) -> int:
    row = Concern(school=school_id, pupil=pupil_id, reference=f"C-T{pupil_id}{when.day:02d}", author=by,
                  occurred_at=when, seen_or_said="Bruise on arm", childs_words="I fell", recorded_at=when, status="open")
    await row.save()
    await ConcernEntry.insert(ConcernEntry(concern=row.id, kind="action", body="Called social care", by=dsl, at=acted))
    return row.id


async def everything(cast, *, year: str = "9", first: str = "Mia", last: str = "Brook") -> dict:
    """A pupil (and a second, named with them) with one record of each source, in a known order:
    incident 2 Nov, contact 3 Nov, referral drafted 4 Nov and sent 5 Nov, intervention joined 6 Nov (baseline 6 Nov),
    case opened 9 Nov and reviewed 10 Nov, on-call 11 Nov, concern 12 Nov, DSL action 13 Nov."""
    s = cast.school_id
    mia = await add_pupil(s, first, last, year=year, form=f"{year}A")
    sam = await add_pupil(s, "Sam", "Other", year=year, form=f"{year}A")
    ids = {
        "pupil": mia, "other": sam,
        "incident": await incident(s, cast.teacher.id, at(2), [(mia, "instigator"), (sam, "target")],
                                   actions=[("phone_call_home", "Spoke to Mum")]),
        "contact": await contact(s, mia, cast.pastoral.id, at(3)),
        "referral": await referral(s, mia, cast.pastoral.id, at(4), at(5)),
        "intervention": await intervention(s, mia, cast.pastoral.id, at(6, 9), dt.date(2026, 11, 6)),
        "case": await case(s, mia, cast.pastoral.id, at(9), at(10)),
        "oncall": await oncall(s, cast.teacher.id, at(11), [mia, sam]),
        "concern": await concern(s, mia, cast.teacher.id, cast.dsl.id, at(12), at(13)),
    }
    return ids
