"""A pupil's part decides the consequence: a target or witness does not take the fight's points or follow-up."""

from app.domain.incidents import service as incidents
from app.domain.incidents.tables import Category, IncidentPupil
from app.domain.notifications.tables import Notification
from tests.conftest import sign_in
from tests.incidents.conftest import log


async def part_category(school_id: int, part: str) -> int:
    return (await Category.select(Category.id).where((Category.school == school_id) & (Category.part == part))
            .first())["id"]


async def test_it_gives_a_target_and_a_witness_no_points_and_no_follow_up(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": [school.ava, school.ben, school.cal],
                                  "role": ["instigator", "target", "witness"], "category_id": school.fighting,
                                  "pupil_category": ["", "", ""], "location_id": school.canteen})
    assert response.status_code == 303
    links = {r["pupil"]: r for r in await IncidentPupil.select()}
    assert (links[school.ava]["points"], links[school.ava]["status"]) == (-5, "open")
    assert links[school.ben]["category"] == await part_category(school.school_id, "target")
    assert (links[school.ben]["points"], links[school.ben]["status"]) == (0, "resolved")
    assert links[school.cal]["category"] == await part_category(school.school_id, "witness")
    assert (links[school.cal]["points"], links[school.cal]["status"]) == (0, "resolved")
    await sign_in(client, settings, school.pastoral)
    follow_up = (await client.get("/incidents/follow-up")).text
    assert "Ava Okafor" in follow_up and "Ben Tran" not in follow_up and "Cal Reid" not in follow_up


async def test_the_server_applies_the_part_when_no_category_is_sent(client, settings, school):
    # An older page, or an entry replayed from a phone's outbox, sends no per-pupil category at all.
    await sign_in(client, settings, school.teacher)
    await log(client, {"pupil_id": [school.ava, school.ben], "role": ["instigator", "target"],
                       "category_id": school.fighting})
    links = {r["pupil"]: r for r in await IncidentPupil.select()}
    assert links[school.ava]["points"] == -5 and links[school.ben]["points"] == 0


async def test_the_person_logging_can_give_a_target_the_incidents_category(client, settings, school):
    # Both fought, one started it: the second pupil's category is changed before saving.
    await sign_in(client, settings, school.teacher)
    await log(client, {"pupil_id": [school.ava, school.ben], "role": ["instigator", "target"],
                       "category_id": school.fighting, "pupil_category": ["", str(school.fighting)]})
    links = {r["pupil"]: r for r in await IncidentPupil.select()}
    assert (links[school.ben]["points"], links[school.ben]["status"]) == (-5, "open")


async def test_the_form_offers_each_pupil_their_parts_category(client, settings, school):
    await sign_in(client, settings, school.teacher)
    page = (await client.get(f"/incidents/new?pupil={school.ava}")).text
    target = await part_category(school.school_id, "target")
    assert 'name="pupil_category"' in page and f'value="{target}" data-part="target"' in page
    assert "Target (no sanction)" in page and "Witness (no sanction)" in page
    assert page.count("Fighting / physical aggression") == 1  # offered once, as what happened


async def test_a_targets_head_of_year_is_told_and_their_timeline_shows_the_part(client, settings, school):
    await sign_in(client, settings, school.teacher)
    await log(client, {"pupil_id": [school.cal, school.ava], "role": ["instigator", "target"],
                       "category_id": school.fighting})
    assert school.head_of_year.id in {n["person"] for n in await Notification.select()}  # Ava is in year 9
    entry = (await incidents.timeline_entries(school.ava))[0]
    assert entry["title"] == "Target: Fighting / physical aggression" and entry["detail"] == "no points"


async def test_a_part_is_not_what_happened(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": school.ava, "role": "target",
                                  "category_id": await part_category(school.school_id, "target")})
    assert response.status_code == 400 and "Choose what happened from the list." in response.text
    assert await IncidentPupil.count() == 0


async def test_another_schools_part_category_is_refused(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": [school.ava, school.ben], "role": ["instigator", "target"],
                                  "category_id": school.fighting,
                                  "pupil_category": ["", str(await part_category(school.other_school_id, "target"))]})
    assert response.status_code == 400 and "not in this school" in response.text
    assert await IncidentPupil.count() == 0


async def test_an_admin_only_account_cannot_log_a_part(client, settings, school):
    from app.domain.schools.tables import Membership

    await Membership.delete().where((Membership.person == school.admin.id) & (Membership.role == "staff"))
    await sign_in(client, settings, school.admin)
    response = await client.get("/incidents/new")
    assert response.status_code == 404


async def test_a_pupils_own_category_is_kept_when_the_form_comes_back(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": [school.ava, school.ben], "role": ["instigator", "target"],
                                  "category_id": school.fighting, "pupil_category": ["", str(school.fighting)],
                                  "occurred_at": "not a time"})
    assert response.status_code == 400
    assert f'<option value="{school.fighting}" selected>Fighting / physical aggression</option>' in response.text
