"""Follow-up: who sees what needs doing, status and actions, statements, edit history and soft delete."""

from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Incident, IncidentPupil, IncidentVersion, Statement
from tests.conftest import csrf, post_form, sign_in
from tests.incidents.conftest import log


async def logged(client, settings, school, pupil=None, category=None) -> int:
    await sign_in(client, settings, school.teacher)
    await log(client, {"pupil_id": pupil or school.ava, "role": "instigator", "category_id": category or school.fighting,
                       "note": "Pushed in the lunch queue"})
    client.cookies.clear()
    return (await Incident.select(Incident.id).order_by(Incident.id, ascending=False).first())["id"]


async def test_the_head_of_year_sees_their_years_incidents_to_follow_up(client, settings, school):
    await logged(client, settings, school, school.ava)
    await logged(client, settings, school, school.cal)
    await sign_in(client, settings, school.head_of_year)
    page = await client.get("/incidents/follow-up")
    assert "Ava Okafor" in page.text and "Cal Reid" not in page.text  # year 9 only
    client.cookies.clear()
    await sign_in(client, settings, school.pastoral)
    page = await client.get("/incidents/follow-up")
    assert "Ava Okafor" in page.text and "Cal Reid" in page.text


async def test_plain_staff_have_no_follow_up_list(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert (await client.get("/incidents/follow-up")).status_code == 404


async def test_status_moves_and_actions_record_who_did_what_when(client, settings, school):
    incident_id = await logged(client, settings, school)
    link = (await IncidentPupil.select(IncidentPupil.id).first())["id"]
    await sign_in(client, settings, school.head_of_year)
    page = f"/incidents/{incident_id}"
    await post_form(client, f"/incidents/links/{link}/actions", {"action": "phone_call_home", "note": "Spoke to mum",
                                                                 "incident_id": incident_id}, page=page)
    assert (await IncidentPupil.select(IncidentPupil.status).first())["status"] == "in_progress"
    view = await client.get(page)
    assert "Phone call home — Hana Head" in view.text and "Spoke to mum" in view.text
    await post_form(client, f"/incidents/links/{link}/status", {"status": "resolved"}, page=page)
    assert (await IncidentPupil.select(IncidentPupil.status).first())["status"] == "resolved"
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action)]
    assert "incident.action_recorded" in actions and "incident.status_changed" in actions
    assert "Ava Okafor" not in (await client.get("/incidents/follow-up")).text


async def test_a_suspension_needs_one_to_three_census_reasons(client, settings, school):
    incident_id = await logged(client, settings, school)
    link = (await IncidentPupil.select(IncidentPupil.id).first())["id"]
    await sign_in(client, settings, school.head_of_year)
    page = f"/incidents/{incident_id}"
    none = await post_form(client, f"/incidents/links/{link}/actions", {"action": "suspension", "incident_id": incident_id},
                           page=page)
    assert none.status_code == 400 and "one to three reasons" in none.text
    four = await post_form(client, f"/incidents/links/{link}/actions", {
        "action": "suspension", "reasons": ["PP", "PA", "VP", "VA"], "incident_id": incident_id}, page=page)
    assert four.status_code == 400
    retired = await post_form(client, f"/incidents/links/{link}/actions", {
        "action": "suspension", "reasons": ["OT"], "incident_id": incident_id}, page=page)
    assert retired.status_code == 400 and "reason codes from the list" in retired.text
    ok = await post_form(client, f"/incidents/links/{link}/actions", {
        "action": "suspension", "reasons": ["PP", "DB"], "incident_id": incident_id}, page=page)
    assert ok.status_code == 200
    assert (await IncidentPupil.select(IncidentPupil.exclusion_reasons).first())["exclusion_reasons"] == "PP,DB"


async def test_statements_are_attached_with_author_time_and_who_they_are_from(client, settings, school):
    incident_id = await logged(client, settings, school)
    await sign_in(client, settings, school.pastoral)
    page = f"/incidents/{incident_id}"
    missing = await post_form(client, f"{page}/statements", {"kind": "pupil", "body": "He pushed me"}, page=page)
    assert missing.status_code == 400 and "Say who the statement is from." in missing.text
    await post_form(client, f"{page}/statements", {"kind": "pupil", "from_name": "Ben Tran", "body": "He pushed me"},
                    page=page)
    statement = await Statement.select().first()
    assert statement["from_name"] == "Ben Tran" and statement["author"] == school.pastoral.id
    assert "He pushed me" in (await client.get(page)).text


async def test_an_edit_keeps_the_previous_version_as_history(client, settings, school):
    incident_id = await logged(client, settings, school)
    link = (await IncidentPupil.select(IncidentPupil.id).first())["id"]
    await sign_in(client, settings, school.pastoral)
    page = f"/incidents/{incident_id}"
    response = await post_form(client, f"{page}/edit", {
        "version": "1", "note": "Pushed Ben in the lunch queue", f"role_{link}": "instigator",
        f"category_{link}": str(school.disruption), "location_id": str(school.canteen), "outcome": "Apologised"},
        page=page)
    assert response.status_code == 200
    incident = await Incident.select().where(Incident.id == incident_id).first()
    assert incident["note"] == "Pushed Ben in the lunch queue" and incident["version"] == 2
    history = await IncidentVersion.select().first()
    assert history["version"] == 1 and "Pushed in the lunch queue" in history["snapshot"]
    assert (await IncidentPupil.select(IncidentPupil.category).first())["category"] == school.disruption
    view = await client.get(page)
    assert "Version 1" in view.text and "Pushed in the lunch queue" in view.text
    stale = await post_form(client, f"{page}/edit", {"version": "1", "note": "Overwrite"}, page=page)
    assert stale.status_code == 400 and "Someone else changed this incident" in stale.text
    assert (await Incident.select(Incident.note).where(Incident.id == incident_id).first())["note"] != "Overwrite"


async def test_soft_delete_needs_a_reason_and_a_permitted_role(client, settings, school):
    incident_id = await logged(client, settings, school)
    page = f"/incidents/{incident_id}"
    await sign_in(client, settings, school.teacher)  # the recorder may see and edit it, not delete it
    refused = await post_form(client, f"{page}/delete", {"reason": "mistake"}, page=page)
    assert refused.status_code == 403
    client.cookies.clear()
    await sign_in(client, settings, school.head_of_year)
    no_reason = await post_form(client, f"{page}/delete", {"reason": " "}, page=page)
    assert no_reason.status_code == 400
    done = await post_form(client, f"{page}/delete", {"reason": "Logged against the wrong pupil"}, page=page)
    assert done.status_code == 200
    row = await Incident.select().where(Incident.id == incident_id).first()
    assert row["deleted_at"] is not None and row["deleted_reason"] == "Logged against the wrong pupil"
    assert (await client.get(page)).status_code == 404
    assert "Ava Okafor" not in (await client.get("/incidents/follow-up")).text
    assert "incident.deleted" in [r["action"] for r in await AuditEvent.select(AuditEvent.action)]


async def test_the_pupil_timeline_shows_incidents_and_rewards(client, settings, school):
    await logged(client, settings, school)
    await logged(client, settings, school, category=school.kindness)
    await sign_in(client, settings, school.pastoral)
    html = (await client.get(f"/pupils/{school.ava}")).text
    assert "Fighting / physical aggression (instigator)" in html and "Kindness" in html and "+1 points" in html


async def test_rewards_add_up_per_pupil_and_per_form(client, settings, school):
    await logged(client, settings, school, school.ava, school.kindness)
    await logged(client, settings, school, school.ava, school.kindness)
    await logged(client, settings, school, school.ben, school.kindness)
    await sign_in(client, settings, school.head_of_year)
    html = (await client.get("/incidents/rewards?year=9")).text
    assert "<td>Ava Okafor</td><td>9A</td><td>2</td>" in html and "<td>9A</td><td>3</td>" in html
    assert (await client.get("/incidents/rewards?year=8")).status_code == 404  # not their year
    client.cookies.clear()
    await sign_in(client, settings, school.teacher)
    assert (await client.get("/incidents/rewards?year=9")).status_code == 404


async def test_retiring_a_category_keeps_it_on_past_records(client, settings, school):
    incident_id = await logged(client, settings, school)
    await sign_in(client, settings, school.admin)
    await post_form(client, f"/admin/incidents/categories/{school.fighting}/retire", page="/admin/incidents/")
    client.cookies.clear()
    await sign_in(client, settings, school.teacher)
    assert f'name="category_id" value="{school.fighting}"' not in (await client.get("/incidents/new")).text
    assert "Fighting / physical aggression" in (await client.get(f"/incidents/{incident_id}")).text
    token = await csrf(client, "/incidents/new")
    response = await client.post("/incidents/", data={"_csrf_token": token, "pupil_id": school.ava,
                                                      "role": "instigator", "category_id": school.fighting})
    assert response.status_code == 400


async def test_only_admins_configure_categories(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert (await client.get("/admin/incidents/")).status_code == 404
    client.cookies.clear()
    await sign_in(client, settings, school.admin)
    bad = await post_form(client, "/admin/incidents/categories", {"kind": "negative", "name": "Spitting",
                                                                  "severity": "3", "points": "5"},
                          page="/admin/incidents/")
    assert bad.status_code == 400
    ok = await post_form(client, "/admin/incidents/categories", {"kind": "negative", "name": "Spitting",
                                                                 "severity": "3", "points": "-3"},
                         page="/admin/incidents/")
    assert ok.status_code == 200 and "Spitting" in ok.text
