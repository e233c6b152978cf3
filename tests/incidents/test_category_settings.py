"""An admin edits a category: its name, severity, points and who is alerted; audited, admin only."""

import json

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Category, CategoryWatcher, IncidentPupil
from app.domain.notifications.tables import Notification
from tests.conftest import post_form, sign_in
from tests.incidents.conftest import log

PAGE = "/admin/incidents/"


async def category(category_id: int) -> dict:
    return await Category.select().where(Category.id == category_id).first()


async def watchers(category_id: int) -> set[int]:
    return {r["person"] for r in await CategoryWatcher.select(CategoryWatcher.person).where(
        CategoryWatcher.category == category_id)}


async def test_it_lets_an_admin_rename_reweigh_and_name_who_is_alerted(client, settings, school):
    await sign_in(client, settings, school.admin)
    page = await client.get(PAGE)
    assert f'action="/admin/incidents/categories/{school.disruption}"' in page.text and "Who is alerted" in page.text
    done = await post_form(client, f"/admin/incidents/categories/{school.disruption}", {
        "name": " Persistent   disruption ", "severity": "2", "points": "-3",
        "watchers": [str(school.teacher.id), str(school.dsl.id)]}, page=PAGE)
    assert done.status_code == 200
    row = await category(school.disruption)
    assert (row["name"], row["severity"], row["points"]) == ("Persistent disruption", 2, -3)
    assert await watchers(school.disruption) == {school.teacher.id, school.dsl.id}
    assert "Persistent disruption" in done.text and "alerts 2 named people" in done.text
    event = await AuditEvent.select().where(AuditEvent.action == "category.updated").first()
    detail = json.loads(event["detail"])
    assert event["actor"] == school.admin.id and event["subject_label"] == "Persistent disruption"
    assert detail["points"] == {"from": -1, "to": -3} and detail["severity"] == {"from": 1, "to": 2}
    assert detail["watchers"] == {"added": sorted([school.teacher.id, school.dsl.id]), "removed": []}
    # Taking someone off the list is a change too.
    await post_form(client, f"/admin/incidents/categories/{school.disruption}", {
        "name": "Persistent disruption", "severity": "2", "points": "-3", "watchers": str(school.dsl.id)}, page=PAGE)
    assert await watchers(school.disruption) == {school.dsl.id}


async def test_a_named_person_is_alerted_and_past_incidents_keep_their_points(client, settings, school):
    await sign_in(client, settings, school.responder)
    await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.disruption})
    client.cookies.clear()
    await sign_in(client, settings, school.admin)
    await post_form(client, f"/admin/incidents/categories/{school.disruption}", {
        "name": "Low-level disruption", "severity": "1", "points": "-4", "watchers": str(school.dsl.id)}, page=PAGE)
    client.cookies.clear()
    await sign_in(client, settings, school.responder)
    await log(client, {"pupil_id": school.ben, "role": "instigator", "category_id": school.disruption})
    points = [r["points"] for r in await IncidentPupil.select(IncidentPupil.points).order_by(IncidentPupil.id)]
    assert points == [-1, -4]
    alerted = await Notification.count().where(Notification.person == school.dsl.id)
    assert alerted == 1  # only the incident logged after the DSL was named


@pytest.mark.parametrize("field, value, message", [
    ("name", "  ", "Name: give the category a name"),
    ("severity", "5", "Severity: a whole number from 1"),
    ("points", "3", "Points: zero or a negative whole number"),
    ("points", "lots", "Points: zero or a negative whole number"),
    ("watchers", "999999", "Who is alerted: choose colleagues who work at this school"),
    ("watchers", "not-a-number", "Who is alerted: choose colleagues who work at this school"),
])
async def test_it_names_the_field_and_changes_nothing_on_bad_input(client, settings, school, field, value, message):
    await sign_in(client, settings, school.admin)
    before = await category(school.disruption)
    form = {"name": "Renamed", "severity": "2", "points": "-2", "watchers": str(school.teacher.id), field: value}
    response = await post_form(client, f"/admin/incidents/categories/{school.disruption}", form, page=PAGE)
    assert response.status_code == 400 and message in response.text
    assert await category(school.disruption) == before and await watchers(school.disruption) == set()
    assert not await AuditEvent.exists().where(AuditEvent.action == "category.updated")


async def test_a_reward_has_points_from_zero_to_twenty_and_no_severity(client, settings, school):
    await sign_in(client, settings, school.admin)
    bad = await post_form(client, f"/admin/incidents/categories/{school.kindness}",
                          {"name": "Kindness", "points": "-1"}, page=PAGE)
    assert bad.status_code == 400 and "Points: a whole number from 0 to 20 for a reward" in bad.text
    await post_form(client, f"/admin/incidents/categories/{school.kindness}", {"name": "Kindness", "points": "3"},
                    page=PAGE)
    row = await category(school.kindness)
    assert (row["points"], row["severity"]) == (3, 0)


async def test_a_colleague_from_another_school_cannot_be_named(client, settings, school):
    await sign_in(client, settings, school.admin)
    response = await post_form(client, f"/admin/incidents/categories/{school.disruption}", {
        "name": "Low-level disruption", "severity": "1", "points": "-1", "watchers": str(school.outsider.id)},
        page=PAGE)
    assert response.status_code == 400 and await watchers(school.disruption) == set()


@pytest.mark.parametrize("who", ["teacher", "pastoral", "head_of_year", "dsl", "guest"])
async def test_it_is_not_found_for_anyone_but_an_admin(client, settings, school, who):
    await sign_in(client, settings, getattr(school, who))
    response = await post_form(client, f"/admin/incidents/categories/{school.disruption}",
                               {"name": "Hijacked", "severity": "1", "points": "-1"})
    assert response.status_code == 404
    assert (await category(school.disruption))["name"] == "Low-level disruption"


async def test_another_schools_admin_gets_not_found(client, settings, school):
    await sign_in(client, settings, school.outsider)
    response = await post_form(client, f"/admin/incidents/categories/{school.disruption}",
                               {"name": "Hijacked", "severity": "1", "points": "-1"}, page=PAGE)
    assert response.status_code == 404
    assert (await category(school.disruption))["name"] == "Low-level disruption"


async def test_a_retired_category_is_not_edited(client, settings, school):
    await sign_in(client, settings, school.admin)
    await post_form(client, f"/admin/incidents/categories/{school.disruption}/retire", page=PAGE)
    response = await post_form(client, f"/admin/incidents/categories/{school.disruption}",
                               {"name": "Back again", "severity": "1", "points": "-1"}, page=PAGE)
    assert response.status_code == 404 and (await category(school.disruption))["name"] == "Low-level disruption"
