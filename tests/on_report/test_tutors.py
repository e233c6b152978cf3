"""A form's tutor sees the report of a pupil of their form (when 'Tutor' is ticked) and its end-of-day summary, and
no other pupil's; the tutor is named by an admin or matched from the MIS tutor's name (exactly one member of staff
of that name); another form's tutor, a report without 'Tutor' ticked and another school find nothing."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from app.domain.pupils.tables import TutorGroup
from app.domain.pupils.tutor_tables import FormTutor
from tests.conftest import add_pupil, post_form, sign_in
from tests.on_report.kit import MONDAY, at, period_ids, put_on_report, rate, report_id_of, targets


async def _group(school_id: int, name: str) -> int:
    return (await TutorGroup.select(TutorGroup.id).where(
        (TutorGroup.school == school_id) & (TutorGroup.name == name)).first())["id"]


async def _two_reports(client, settings, cast, frozen_clock, **changes) -> tuple[int, int]:
    """Amy (9A) and Ben (9B) on report from Monday 08:00."""
    at(frozen_clock, MONDAY, "08:00")
    amy = await add_pupil(cast.school_id, "Amy", "Archer", form="9A")
    ben = await add_pupil(cast.school_id, "Ben", "Baker", form="9B")
    amy_report = report_id_of(await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, **changes))
    ben_report = report_id_of(await put_on_report(client, settings, cast.pastoral, ben, cast.school_id, **changes))
    return amy_report, ben_report


async def name_tutors(client, settings, admin, group: int, *people: int):
    await sign_in(client, settings, admin)
    return await post_form(client, "/admin/tutors/", {"tutor_group_id": str(group),
                                                      "person_ids": [str(p) for p in people] or [""]},
                           page="/admin/tutors/")


async def test_the_tutor_sees_their_tutees_report_and_summary_and_no_other(client, settings, cast, frozen_clock):
    amy_report, ben_report = await _two_reports(client, settings, cast, frozen_clock)
    form_a = await _group(cast.school_id, "9A")
    saved = await name_tutors(client, settings, cast.admin, form_a, cast.teacher.id)
    assert saved.status_code == 200 and "Saved." in saved.text
    assert "tutor now: Tara Teacher (named here)" in saved.text
    event = await AuditEvent.select().where(AuditEvent.action == "tutor_group.tutors_set").first()
    assert event["actor"] == cast.admin.id and event["subject_id"] == str(form_a)

    ids = await period_ids(cast.school_id)
    first, _ = await targets(amy_report)
    at(frozen_clock, MONDAY, "09:30")
    await sign_in(client, settings, cast.responder)
    await rate(client, amy_report, first["id"], ids["Period 1"], 3)
    at(frozen_clock, MONDAY, "15:30")
    await sign_in(client, settings, cast.teacher)
    page = await client.get(f"/on-report/{amy_report}")
    assert page.status_code == 200 and "3 · Met" in page.text.split('id="grid"')[1]
    assert (await client.get(f"/on-report/{amy_report}/report.csv")).status_code == 200
    index = (await client.get("/on-report/")).text
    tutees = index.split('id="tutees"')[1].split("</section>")[0]
    assert "Amy Archer" in tutees and "Ben Baker" not in tutees
    # Periods 1, 2 and 4 are over, two targets each: 6 due, 1 given; the missing ones named.
    assert "1 of 6 ratings due so far · average 3.0 · missing: Period 1, Period 2, Period 4" in tutees
    assert "Ben Baker" not in index
    for path in ("", "/report.csv", "/report.pdf"):
        assert (await client.get(f"/on-report/{ben_report}{path}")).status_code == 404
    panel = (await client.get(f"/on-report/pupil/{(await _pupil_of(amy_report))}")).text
    assert "Open the report" in panel


async def _pupil_of(report_id: int) -> int:
    from app.domain.on_report.tables import OnReport

    return (await OnReport.select(OnReport.pupil).where(OnReport.id == report_id).first())["pupil"]


async def test_another_forms_tutor_and_unticked_reports_find_nothing(client, settings, cast, frozen_clock):
    amy_report, _ = await _two_reports(client, settings, cast, frozen_clock, visible_to=["pastoral"])
    await name_tutors(client, settings, cast.admin, await _group(cast.school_id, "9B"), cast.responder.id)
    await name_tutors(client, settings, cast.admin, await _group(cast.school_id, "9A"), cast.teacher.id)
    at(frozen_clock, MONDAY, "10:30")
    await sign_in(client, settings, cast.responder)  # tutor of 9B, not Amy's form
    assert (await client.get(f"/on-report/{amy_report}")).status_code == 404
    await sign_in(client, settings, cast.teacher)  # Amy's tutor, but 'Tutor' was not ticked on this report
    assert (await client.get(f"/on-report/{amy_report}")).status_code == 404
    assert 'id="tutees"' not in (await client.get("/on-report/")).text
    await sign_in(client, settings, cast.outsider)
    assert (await client.get(f"/on-report/{amy_report}")).status_code == 404


async def test_the_mis_tutor_name_matches_exactly_one_member_of_staff(client, settings, cast, frozen_clock):
    at(frozen_clock, MONDAY, "08:00")
    amy = await add_pupil(cast.school_id, "Amy", "Archer", form="10C", year="10", tutor_name="  tara   TEACHER ")
    rid = report_id_of(await put_on_report(client, settings, cast.pastoral, amy, cast.school_id))
    at(frozen_clock, MONDAY, "10:30")
    await sign_in(client, settings, cast.teacher)
    assert (await client.get(f"/on-report/{rid}")).status_code == 200
    # A second member of staff of the same name: the MIS name no longer says who the tutor is.
    from app.domain.schools import service as schools
    from app.domain.audit.service import Origin

    await schools.add_person(email="tara2@northbridge.example", display_name="Tara Teacher", school_id=cast.school_id,
                             roles=["staff"], actor=None, origin=Origin(ip="test"))
    assert (await client.get(f"/on-report/{rid}")).status_code == 404
    # The admin names her: the named tutor stands, whatever the MIS says.
    await name_tutors(client, settings, cast.admin, await _group(cast.school_id, "10C"), cast.teacher.id)
    await sign_in(client, settings, cast.teacher)
    assert (await client.get(f"/on-report/{rid}")).status_code == 200


async def test_naming_tutors_bad_input_double_submission_and_who_may(client, settings, cast, frozen_clock):
    await add_pupil(cast.school_id, "Amy", "Archer", form="9A")
    form_a = await _group(cast.school_id, "9A")
    bad = await name_tutors(client, settings, cast.admin, form_a, cast.outsider.id)  # not the school's staff
    assert bad.status_code == 400 and "Choose tutors from the school&#39;s staff." in bad.text
    too_many = await name_tutors(client, settings, cast.admin, form_a, cast.teacher.id, cast.responder.id,
                                 cast.pastoral.id)
    assert too_many.status_code == 400 and "Name at most 2 tutors" in too_many.text
    assert not await FormTutor.exists()
    for _ in range(2):
        assert (await name_tutors(client, settings, cast.admin, form_a, cast.teacher.id,
                                  cast.responder.id)).status_code == 200
    assert await FormTutor.count() == 2
    assert await AuditEvent.count().where(AuditEvent.action == "tutor_group.tutors_set") == 1
    cleared = await name_tutors(client, settings, cast.admin, form_a)
    assert cleared.status_code == 200 and not await FormTutor.exists()
    for member in (cast.teacher, cast.pastoral, cast.dsl, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/admin/tutors/")).status_code == 404
        assert (await post_form(client, "/admin/tutors/", {"tutor_group_id": str(form_a),
                                                           "person_ids": [str(member.id)]})).status_code == 404
    # Another school's admin: their own (empty) page; A's form is not found.
    await sign_in(client, settings, cast.outsider)
    page = await client.get("/admin/tutors/")
    assert page.status_code == 200 and "9A" not in page.text and "Tara Teacher" not in page.text
    assert (await post_form(client, "/admin/tutors/", {"tutor_group_id": str(form_a),
                                                       "person_ids": [str(cast.outsider.id)]})).status_code == 404
    assert not await FormTutor.exists()
