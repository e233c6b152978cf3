"""`corridor retention`'s work: a dry run lists what is due and changes nothing; apply deletes exactly what is due,
kind by kind, in one transaction per school and kind, audited with counts only; a legal hold keeps everything of
that pupil."""

import datetime as dt
import json

from app.domain.accounts.tables import Session
from app.domain.audit.tables import AuditEvent
from app.domain.casework.tables import Case, CaseReview, CaseTarget
from app.domain.chronology.tables import ChronologyFlag
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.contact_log.tables import ContactLog
from app.domain.incidents.tables import FollowUpAction, Incident, IncidentPupil, Statement
from app.domain.interventions.tables import Measure, Participant
from app.domain.notifications.tables import Alert, AlertRecipient
from app.domain.oncall.tables import OnCallEvent, OnCallPupil, OnCallRequest
from app.domain.pupils.tables import Pupil
from app.domain.referrals.tables import Referral, ReferralEvent
from app.domain.retention import service as retention
from app.domain.retention.tables import LegalHold
from tests.conftest import add_pupil
from tests.retention import kit

TABLES = (Concern, ConcernEntry, Incident, IncidentPupil, FollowUpAction, Statement, Case, CaseTarget, CaseReview,
          Referral, ReferralEvent, Participant, Measure, ContactLog, ChronologyFlag, OnCallRequest, OnCallPupil,
          OnCallEvent, Alert, AlertRecipient, Session, Pupil)


async def counts() -> dict[str, int]:
    return {t._meta.tablename: await t.count() for t in TABLES}


def born_turning_25(on: dt.date) -> dt.date:
    return retention.years_before(on, 25)


async def pupils(cast):
    """Ada turned 25 yesterday; Ben turns 25 tomorrow."""
    today = retention.today()
    ada = await add_pupil(cast.school_id, "Ada", "Older", year="13", dob=born_turning_25(today - dt.timedelta(days=1)))
    ben = await add_pupil(cast.school_id, "Ben", "Younger", year="13",
                          dob=born_turning_25(today + dt.timedelta(days=1)))
    return ada, ben


def of(outcomes, kind, school_id):
    return next(o for o in outcomes if o.kind == kind and o.school_id == school_id)


async def test_it_lists_what_is_due_and_changes_nothing_on_a_dry_run(cast, frozen_clock):
    ada, ben = await pupils(cast)
    await kit.concern(cast.school_id, ada, cast.dsl.id)
    await kit.concern(cast.school_id, ben, cast.dsl.id)
    await kit.incident(cast.school_id, [ada], cast.teacher.id)
    await kit.casework(cast.school_id, ada, cast.pastoral.id)
    before = await counts()
    outcomes = await retention.plan()
    assert of(outcomes, "safeguarding", cast.school_id).due == {"concerns": 1}
    assert of(outcomes, "behaviour", cast.school_id).due == {"pupil entries": 1, "incidents": 1}
    assert of(outcomes, "casework", cast.school_id).due_total == 5  # case, referral, place, contact, mark
    assert await counts() == before
    assert await AuditEvent.count().where(AuditEvent.action == "retention.applied") == 0


async def test_it_deletes_exactly_what_is_due_by_age(cast, frozen_clock):
    ada, ben = await pupils(cast)
    gone = [await kit.concern(cast.school_id, ada, cast.dsl.id)]
    kept = [await kit.concern(cast.school_id, ben, cast.dsl.id)]
    alone = await kit.incident(cast.school_id, [ada], cast.teacher.id)
    shared = await kit.incident(cast.school_id, [ada, ben], cast.teacher.id)
    ada_work = await kit.casework(cast.school_id, ada, cast.pastoral.id)
    ben_work = await kit.casework(cast.school_id, ben, cast.pastoral.id)
    await retention.apply()
    assert [r["id"] for r in await Concern.select(Concern.id)] == kept
    assert await ConcernEntry.count() == 1 and not set(gone) & {r["id"] for r in await Concern.select(Concern.id)}
    # The incident only Ada was in goes with its statement; the shared one stays, with Ben's part only.
    assert [r["id"] for r in await Incident.select(Incident.id)] == [shared]
    assert await IncidentPupil.select(IncidentPupil.pupil) == [{"pupil": ben}]
    assert await Statement.count() == 1 and await FollowUpAction.count() == 1
    assert alone not in [r["id"] for r in await Incident.select(Incident.id)]
    # Ben's casework is all there; Ada's is gone, child rows by cascade.
    assert [r["id"] for r in await Case.select(Case.id)] == [ben_work["case"]]
    assert await CaseTarget.count() == 1 and await CaseReview.count() == 1
    assert [r["id"] for r in await Referral.select(Referral.id)] == [ben_work["referral"]]
    assert await ReferralEvent.count() == 1
    assert [r["id"] for r in await Participant.select(Participant.id)] == [ben_work["participant"]]
    assert await Measure.count() == 1
    assert [r["id"] for r in await ContactLog.select(ContactLog.id)] == [ben_work["contact"]]
    assert [r["id"] for r in await ChronologyFlag.select(ChronologyFlag.id)] == [ben_work["flag"]]
    assert ada_work["case"] != ben_work["case"]
    # Pupils themselves are never deleted.
    assert await Pupil.count() == 2
    # Tomorrow Ben turns 25: his go too.
    frozen_clock.advance(days=1)
    await retention.apply()
    assert await Concern.count() == 0 and await Incident.count() == 0 and await Case.count() == 0


async def test_records_just_inside_their_period_stay(cast, frozen_clock):
    pupil = await add_pupil(cast.school_id, "Cal", "Current")
    today = retention.today()
    three_years = retention._start_of(retention.years_before(today, 3))
    one_year = retention._start_of(retention.years_before(today, 1))
    old_call = await kit.oncall(cast.school_id, [pupil], cast.teacher.id, at=three_years - dt.timedelta(minutes=1))
    new_call = await kit.oncall(cast.school_id, [pupil], cast.teacher.id, at=three_years + dt.timedelta(minutes=1))
    await kit.alert(cast.school_id, cast.dsl.id, at=one_year - dt.timedelta(minutes=1))
    new_alert = await kit.alert(cast.school_id, cast.dsl.id, at=one_year + dt.timedelta(minutes=1))
    outcomes = await retention.plan()
    assert of(outcomes, "oncall", cast.school_id).due == {"requests": 1}
    assert of(outcomes, "alerts", cast.school_id).due == {"alerts": 1}
    await retention.apply()
    assert [r["id"] for r in await OnCallRequest.select(OnCallRequest.id)] == [new_call]
    assert await OnCallPupil.count() == 1 and await OnCallEvent.count() == 1
    assert [r["id"] for r in await Alert.select(Alert.id)] == [new_alert] and await AlertRecipient.count() == 1
    assert old_call != new_call


async def test_a_school_can_count_behaviour_in_years_after_the_incident(cast, frozen_clock):
    pupil = await add_pupil(cast.school_id, "Dan", "Young")
    from app.domain.retention.tables import RetentionPolicy
    await RetentionPolicy.insert(RetentionPolicy(school=cast.school_id, kind="behaviour", basis="years", years=2,
                                                 updated_at=frozen_clock.current))
    today = retention.today()
    edge = retention._start_of(retention.years_before(today, 2))
    await kit.incident(cast.school_id, [pupil], cast.teacher.id, at=edge - dt.timedelta(seconds=1))
    recent = await kit.incident(cast.school_id, [pupil], cast.teacher.id, at=edge)
    await retention.apply()
    assert [r["id"] for r in await Incident.select(Incident.id)] == [recent]


async def test_a_legal_hold_keeps_everything_of_that_pupil_and_shows_as_held(cast, frozen_clock):
    ada, ben = await pupils(cast)
    other = await add_pupil(cast.school_id, "Eve", "Older", year="13",
                            dob=born_turning_25(retention.today() - dt.timedelta(days=30)))
    await kit.concern(cast.school_id, ada, cast.dsl.id)
    await kit.incident(cast.school_id, [ada], cast.teacher.id)
    await kit.casework(cast.school_id, ada, cast.pastoral.id)
    old = retention._start_of(retention.years_before(retention.today(), 4))
    await kit.oncall(cast.school_id, [ada], cast.teacher.id, at=old)
    await kit.concern(cast.school_id, other, cast.dsl.id)
    await LegalHold.insert(LegalHold(school=cast.school_id, pupil=ada, reason="Police investigation",
                                     set_by=cast.dsl.id, set_at=frozen_clock.current))
    before = await counts()
    outcomes = await retention.plan()
    safeguarding = of(outcomes, "safeguarding", cast.school_id)
    assert safeguarding.due == {"concerns": 1} and safeguarding.held == 1
    assert of(outcomes, "behaviour", cast.school_id).held == 1
    assert of(outcomes, "casework", cast.school_id).held == 5
    assert of(outcomes, "oncall", cast.school_id).held == 1
    text = retention.report(outcomes, applied=False)
    assert "Safeguarding (until the pupil's 25th birthday): 1 due [1 concerns]; 1 held (legal hold)" in text
    await retention.apply()
    after = await counts()
    assert after["concern"] == before["concern"] - 1  # Eve's
    for name in ("incident", "incident_pupil", "pupil_case", "referral", "intervention_participant", "contact_log",
                 "chronology_flag", "on_call_request"):
        assert after[name] == before[name], name
    # Lifted, the next run deletes them.
    await LegalHold.update({LegalHold.lifted_at: frozen_clock.current, LegalHold.lifted_by: cast.dsl.id}).where(
        LegalHold.pupil == ada)
    await retention.apply()
    assert await Concern.count() == 0 and await Incident.count() == 0 and await OnCallRequest.count() == 0


async def test_it_audits_each_school_and_kind_with_counts_and_no_contents(cast, frozen_clock):
    ada, ben = await pupils(cast)
    await kit.concern(cast.school_id, ada, cast.dsl.id)
    await kit.incident(cast.school_id, [ada, ben], cast.teacher.id)
    eve = await add_pupil(cast.school_id, "Eve", "Held", year="13",
                          dob=born_turning_25(retention.today() - dt.timedelta(days=3)))
    await LegalHold.insert(LegalHold(school=cast.school_id, pupil=eve, reason="SECRET-HOLD-REASON",
                                     set_by=cast.dsl.id, set_at=frozen_clock.current))
    await kit.concern(cast.school_id, eve, cast.dsl.id)
    await retention.apply()
    events = await AuditEvent.select().where(AuditEvent.action == "retention.applied").order_by(AuditEvent.id)
    assert [(e["school"], e["subject_id"]) for e in events] == [(cast.school_id, "safeguarding"),
                                                                (cast.school_id, "behaviour")]
    assert json.loads(events[0]["detail"]) == {"kind": "safeguarding", "rule": "until the pupil's 25th birthday",
                                               "deleted": {"concerns": 1}, "held": 1}
    assert json.loads(events[1]["detail"])["deleted"] == {"pupil entries": 1, "incidents": 0}
    for e in events:
        assert e["actor_label"] == "corridor retention" and e["ip"] == "cli"
        assert "SECRET" not in json.dumps(e, default=str) and "Ada" not in json.dumps(e, default=str)


async def test_it_deletes_old_sessions_for_the_whole_install(cast, frozen_clock, settings):
    from tests.conftest import sign_in
    from app.main import create_app
    from tests.conftest import http_client

    async with http_client(create_app(settings)) as client:
        await sign_in(client, settings, cast.teacher)
    await Session.update({Session.ended_at: frozen_clock.current}, force=True)
    frozen_clock.advance(days=90, seconds=-1)
    assert of(await retention.plan(), "sessions", None).due == {"sessions": 0}
    frozen_clock.advance(seconds=2)
    await retention.apply()
    assert await Session.count() == 0
    event = await AuditEvent.select().where(AuditEvent.action == "retention.applied").first()
    assert event["school"] is None and json.loads(event["detail"])["deleted"] == {"sessions": 1}


async def test_register_marks_go_six_years_after_the_day_except_a_held_pupils(cast, frozen_clock):
    from app.domain.attendance.tables import AttendanceMark, AttendanceMarkChange

    cal = await add_pupil(cast.school_id, "Cal", "Current")
    dee = await add_pupil(cast.school_id, "Dee", "Held")
    first_kept = retention.years_before(retention.today(), 6)
    days = [first_kept - dt.timedelta(days=2), first_kept - dt.timedelta(days=1), first_kept,
            first_kept + dt.timedelta(days=1)]
    await kit.marks(cast.school_id, cal, days)
    await kit.marks(cast.school_id, dee, days[:1])
    await LegalHold.insert(LegalHold(school=cast.school_id, pupil=dee, reason="Claim", set_by=cast.dsl.id,
                                     set_at=frozen_clock.current))
    outcome = of(await retention.plan(), "attendance", cast.school_id)
    assert outcome.due == {"register marks": 2, "amended marks' history": 2} and outcome.held == 1
    assert await AttendanceMark.count() == 5
    await retention.apply()
    left = await AttendanceMark.select(AttendanceMark.pupil, AttendanceMark.day).order_by(AttendanceMark.id)
    assert [(r["pupil"], str(r["day"])[:10]) for r in left] == [
        (cal, first_kept.isoformat()), (cal, (first_kept + dt.timedelta(days=1)).isoformat()),
        (dee, days[0].isoformat())]
    assert await AttendanceMarkChange.count() == 3


async def test_home_visits_go_with_casework_once_over_and_not_while_another_pupil_is_kept(cast, frozen_clock):
    from app.domain.home_visits.tables import HomeVisit, HomeVisitEvent, HomeVisitPupil, HomeVisitStaff

    ada, ben = await pupils(cast)
    alone = await kit.home_visit(cast.school_id, [ada], cast.pastoral.id)
    siblings = await kit.home_visit(cast.school_id, [ada, ben], cast.pastoral.id)
    planned = await kit.home_visit(cast.school_id, [ada], cast.pastoral.id, state="planned")
    outcome = of(await retention.plan(), "casework", cast.school_id)
    assert outcome.due["home visit pupils"] == 2 and outcome.due["home visits"] == 1
    await retention.apply()
    assert sorted(r["id"] for r in await HomeVisit.select(HomeVisit.id)) == sorted([siblings, planned])
    assert alone not in [r["visit"] for r in await HomeVisitEvent.select(HomeVisitEvent.visit)]
    assert await HomeVisitStaff.count() == 2
    assert sorted((r["visit"], r["pupil"]) for r in await HomeVisitPupil.select(HomeVisitPupil.visit,
                                                                                 HomeVisitPupil.pupil)) == \
        sorted([(siblings, ben), (planned, ada)])


async def test_a_hold_set_after_the_dry_run_is_respected_by_apply(cast, frozen_clock):
    ada, ben = await pupils(cast)
    await kit.concern(cast.school_id, ada, cast.dsl.id)
    assert of(await retention.plan(), "safeguarding", cast.school_id).due == {"concerns": 1}
    await LegalHold.insert(LegalHold(school=cast.school_id, pupil=ada, reason="Claim", set_by=cast.dsl.id,
                                     set_at=frozen_clock.current))
    done = of(await retention.apply(), "safeguarding", cast.school_id)
    assert done.due == {"concerns": 0} and done.held == 1 and await Concern.count() == 1
