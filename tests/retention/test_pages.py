"""The admin's retention page and the DSL team's legal hold: who may see and change them, bad input kept with a
message per field, and every change audited."""

import json

from app.domain.audit.tables import AuditEvent
from app.domain.retention.tables import LegalHold, RetentionPolicy
from app.domain.schools import service as schools
from app.domain.audit.service import Origin
from tests.conftest import Member, add_pupil, post_form, sign_in


def policy_form(**changes) -> dict:
    form = {"safeguarding_years": "25", "behaviour_basis": "age", "behaviour_years": "25", "casework_basis": "age",
            "casework_years": "25", "attendance_years": "6", "oncall_years": "3", "alerts_years": "1"}
    form.update(changes)
    return form


async def test_an_admin_sees_the_defaults_and_changes_a_period(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/admin/retention/")
    assert page.status_code == 200
    assert "25th birthday (KCSIE" in page.text and "Using the default." in page.text
    response = await post_form(client, "/admin/retention/", policy_form(behaviour_basis="years", behaviour_years="6"),
                               page="/admin/retention/")
    assert response.status_code == 200 and "Retention periods saved." in response.text
    assert "Changed from the default." in response.text
    rows = await RetentionPolicy.select(RetentionPolicy.school, RetentionPolicy.kind, RetentionPolicy.basis,
                                        RetentionPolicy.years)
    assert rows == [{"school": cast.school_id, "kind": "behaviour", "basis": "years", "years": 6}]
    event = await AuditEvent.select().where(AuditEvent.action == "retention.policy_changed").first()
    assert json.loads(event["detail"]) == {"before": {"behaviour": "age:25"}, "after": {"behaviour": "years:6"}}
    assert event["school"] == cast.school_id


async def test_bad_input_gets_a_message_per_field_and_keeps_what_was_typed(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, "/admin/retention/",
                               policy_form(safeguarding_years="18", oncall_years="lots", casework_basis="never"),
                               page="/admin/retention/")
    assert response.status_code == 400
    assert "Safeguarding: give an age from 25 to 100 (KCSIE: at least until the pupil&#39;s 25th birthday)." \
        in response.text
    assert "On-call requests: give a whole number of years from 1 to 100." in response.text
    assert "Casework: choose how the period is counted." in response.text
    assert 'value="lots"' in response.text and 'value="18"' in response.text
    assert await RetentionPolicy.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "retention.policy_changed") == 0


async def test_only_admins_see_the_page_and_each_only_their_own_school(client, settings, cast):
    for member in (cast.teacher, cast.dsl, cast.pastoral, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/admin/retention/")).status_code == 404
        assert (await post_form(client, "/admin/retention/", policy_form(oncall_years="9"))).status_code == 404
    await sign_in(client, settings, cast.outsider)
    response = await post_form(client, "/admin/retention/", policy_form(oncall_years="9"), page="/admin/retention/")
    assert response.status_code == 200
    rows = await RetentionPolicy.select(RetentionPolicy.school)
    assert rows == [{"school": cast.other_school_id}]  # the outsider's own school, never A's


async def test_the_dsl_sets_and_lifts_a_legal_hold(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Ada", "Held")
    await sign_in(client, settings, cast.dsl)
    panel = await client.get(f"/retention/hold/{pupil}/panel")
    assert panel.status_code == 200 and "No legal hold." in panel.text
    empty = await post_form(client, f"/retention/hold/{pupil}", {"reason": "  "}, page=f"/retention/hold/{pupil}")
    assert empty.status_code == 400 and "Say why the records must be kept." in empty.text
    response = await post_form(client, f"/retention/hold/{pupil}", {"reason": "Police investigation (Op Elm)"},
                               page=f"/retention/hold/{pupil}")
    assert response.status_code == 200 and "Police investigation (Op Elm)" in response.text
    assert "Lift the hold" in response.text
    assert "Under a legal hold since" in (await client.get(f"/retention/hold/{pupil}/panel")).text
    profile = await client.get(f"/pupils/{pupil}")
    assert "/retention/hold/%d/panel" % pupil in profile.text
    short = await post_form(client, f"/retention/hold/{pupil}/lift", {"lift_reason": ""},
                            page=f"/retention/hold/{pupil}")
    assert short.status_code == 400 and "Say why the hold can be lifted." in short.text
    lifted = await post_form(client, f"/retention/hold/{pupil}/lift", {"lift_reason": "Case closed by police"},
                             page=f"/retention/hold/{pupil}")
    assert lifted.status_code == 200 and "Earlier holds" in lifted.text and "Case closed by police" in lifted.text
    rows = await LegalHold.select(LegalHold.reason, LegalHold.set_by, LegalHold.lifted_by, LegalHold.lift_reason)
    assert rows == [{"reason": "Police investigation (Op Elm)", "set_by": cast.dsl.id, "lifted_by": cast.dsl.id,
                     "lift_reason": "Case closed by police"}]
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.subject_id, AuditEvent.detail).where(
        AuditEvent.action.like("legal_hold.%")).order_by(AuditEvent.id)
    assert [(e["action"], e["subject_id"]) for e in events] == [("legal_hold.set", str(pupil)),
                                                                ("legal_hold.lifted", str(pupil))]
    assert all("Police" not in e["detail"] and "police" not in e["detail"] for e in events)


async def test_only_the_dsl_team_of_the_pupils_school_can_see_or_change_a_hold(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Ada", "Held")
    other_dsl_id = await schools.add_person(email="dsl@elsewhere.example", display_name="Ola Other",
                                            school_id=cast.other_school_id, roles=["staff", "dsl"], actor=None,
                                            origin=Origin(ip="test"))
    other_dsl = Member(other_dsl_id, "dsl@elsewhere.example", "Ola Other", cast.other_school_id)
    for member in (cast.teacher, cast.pastoral, cast.head_of_year, cast.admin, cast.responder, cast.guest,
                   cast.outsider, other_dsl):
        await sign_in(client, settings, member)
        assert (await client.get(f"/retention/hold/{pupil}")).status_code == 404
        assert (await client.get(f"/retention/hold/{pupil}/panel")).status_code == 404
        assert (await post_form(client, f"/retention/hold/{pupil}", {"reason": "x"})).status_code == 404
        assert (await post_form(client, f"/retention/hold/{pupil}/lift", {"lift_reason": "x"})).status_code == 404
    assert await LegalHold.count() == 0
    await sign_in(client, settings, cast.pastoral)
    assert "/retention/hold/" not in (await client.get(f"/pupils/{pupil}")).text



async def test_a_second_hold_while_one_is_in_force_is_refused(client, settings, cast):
    pupil = await add_pupil(cast.school_id, "Ada", "Held")
    await sign_in(client, settings, cast.dsl)
    page = f"/retention/hold/{pupil}"
    assert (await post_form(client, page, {"reason": "Claim"}, page=page)).status_code == 200
    again = await post_form(client, page, {"reason": "Another"}, page=page)  # a form left open in another tab
    assert again.status_code == 400
    assert "This pupil&#39;s records are already under a legal hold." in again.text
    assert await LegalHold.count() == 1
