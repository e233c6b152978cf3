"""An admin renames the school and corrects its URN and LAESTAB; a trust admin adds further schools to the trust."""

import pytest

from app import clock
from app.domain.audit.service import Origin
from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Category, Location
from app.domain.oncall.tables import OnCallReason
from app.domain.schools import service as schools
from app.domain.schools.tables import School
from tests.conftest import Member, post_form, sign_in

PAGE = "/admin/school/"


async def school(school_id: int) -> dict:
    return await School.select().where(School.id == school_id).first()


@pytest.fixture
async def trust_admin(cast) -> Member:
    pid = await schools.add_person(email="ceo@northbridge.example", display_name="Tess Trust", school_id=cast.school_id,
                                   roles=["admin"], actor=None, origin=Origin(ip="test"), trust_wide=True)
    return Member(pid, "ceo@northbridge.example", "Tess Trust", cast.school_id)


async def test_it_lets_an_admin_rename_the_school_and_correct_its_numbers(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get(PAGE)
    assert page.status_code == 200 and 'value="Northbridge Academy"' in page.text and 'value="8014001"' in page.text
    done = await post_form(client, PAGE, {"name": "  Northbridge   Community Academy ", "urn": "137402",
                                          "laestab": "801/4011"}, page=PAGE)
    assert done.status_code == 200 and "Saved." in done.text
    row = await school(cast.school_id)
    assert (row["name"], row["urn"], row["la_code"], row["establishment_number"]) == \
        ("Northbridge Community Academy", "137402", "801", "4011")
    assert "Northbridge Community Academy" in (await client.get("/")).text  # the header names the school
    event = await AuditEvent.select().where(AuditEvent.action == "school.updated").first()
    assert event["actor"] == cast.admin.id and event["school"] == cast.school_id
    assert "Northbridge Community Academy" in str(event["detail"]) and "4011" in str(event["detail"])


@pytest.mark.parametrize("field, value, message", [
    ("name", "   ", "School name: enter the name of the school"),
    ("name", "x" * 201, "School name: enter the name of the school"),
    ("urn", "13740", "URN: six digits"),
    ("urn", "ABC123", "URN: six digits"),
    ("laestab", "80140011", "LAESTAB: seven digits"),
    ("laestab", "", "LAESTAB: seven digits"),
])
async def test_it_names_the_field_and_writes_nothing_on_bad_input(client, settings, cast, field, value, message):
    await sign_in(client, settings, cast.admin)
    before = await school(cast.school_id)
    form = {"name": "Renamed Academy", "urn": "137402", "laestab": "8014001", field: value}
    response = await post_form(client, PAGE, form, page=PAGE)
    assert response.status_code == 400
    assert message in response.text and "Nothing was saved" in response.text
    assert f'id="{field}"' in response.text and 'aria-invalid="true"' in response.text
    if field != "name":
        assert 'value="Renamed Academy"' in response.text  # what was typed is kept
    assert await school(cast.school_id) == before
    assert not await AuditEvent.exists().where(AuditEvent.action == "school.updated")


async def test_it_refuses_a_laestab_another_school_of_the_trust_has(client, settings, cast, trust_admin):
    await sign_in(client, settings, trust_admin)
    await post_form(client, "/admin/school/new", {"name": "Northbridge Juniors", "urn": "", "laestab": "8014003"},
                    page=PAGE)
    client.cookies.clear()
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, PAGE, {"name": "Northbridge Academy", "urn": "", "laestab": "801 4003"},
                               page=PAGE)
    assert response.status_code == 400 and "another school of the trust already has this LAESTAB" in response.text
    assert (await school(cast.school_id))["establishment_number"] == "4001"


@pytest.mark.parametrize("who", ["teacher", "dsl", "pastoral", "guest"])
async def test_it_is_not_found_for_anyone_but_an_admin(client, settings, cast, who):
    await sign_in(client, settings, getattr(cast, who))
    assert (await client.get(PAGE)).status_code == 404
    response = await post_form(client, PAGE, {"name": "Hijacked", "urn": "", "laestab": "8014001"})
    assert response.status_code == 404
    assert (await school(cast.school_id))["name"] == "Northbridge Academy"


async def test_an_admin_of_another_school_changes_only_their_own(client, settings, cast):
    await sign_in(client, settings, cast.outsider)
    page = await client.get(PAGE)
    assert "Elsewhere High" in page.text and "Northbridge" not in page.text
    await post_form(client, PAGE, {"name": "Elsewhere College", "urn": "", "laestab": "8024002"}, page=PAGE)
    assert (await school(cast.other_school_id))["name"] == "Elsewhere College"
    assert (await school(cast.school_id))["name"] == "Northbridge Academy"


async def test_it_lets_a_trust_admin_add_a_school_with_its_defaults(client, settings, cast, trust_admin):
    await sign_in(client, settings, trust_admin)
    page = await client.get(PAGE)
    assert "Add a school" in page.text and "Northbridge Academy" in page.text
    done = await post_form(client, "/admin/school/new", {"name": "Northbridge Juniors", "urn": "141516",
                                                         "laestab": "801/4003"}, page=PAGE)
    assert done.status_code == 200 and "School added" in done.text
    added = await School.select().where(School.name == "Northbridge Juniors").first()
    assert added["trust"] == (await school(cast.school_id))["trust"]
    assert (added["urn"], added["la_code"], added["establishment_number"], added["slug"]) == \
        ("141516", "801", "4003", "northbridge-juniors")
    assert "Northbridge Juniors" in done.text  # listed among the trust's schools
    # Ready to use: the categories, places and on-call reasons every school starts with.
    assert await Category.count().where(Category.school == added["id"]) > 0
    assert await Location.count().where(Location.school == added["id"]) > 0
    assert await OnCallReason.count().where(OnCallReason.school == added["id"]) > 0
    event = await AuditEvent.select().where(AuditEvent.action == "school.created").first()
    assert event["actor"] == trust_admin.id and event["subject_label"] == "Northbridge Juniors"


async def test_a_new_school_with_bad_details_is_not_created(client, settings, cast, trust_admin):
    await sign_in(client, settings, trust_admin)
    before = await School.count()
    response = await post_form(client, "/admin/school/new", {"name": "", "urn": "12", "laestab": "801"}, page=PAGE)
    assert response.status_code == 400 and "Nothing was added" in response.text
    for message in ("School name:", "URN: six digits", "LAESTAB: seven digits"):
        assert message in response.text
    assert await School.count() == before
    again = await post_form(client, "/admin/school/new", {"name": "Copy", "urn": "", "laestab": "8014001"}, page=PAGE)
    assert again.status_code == 400 and "already has this LAESTAB" in again.text
    assert await School.count() == before


async def test_a_school_admin_cannot_add_schools_to_the_trust(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    assert "Add a school" not in (await client.get(PAGE)).text
    before = await School.count()
    response = await post_form(client, "/admin/school/new", {"name": "Rogue School", "urn": "", "laestab": "8019999"},
                               page=PAGE)
    assert response.status_code == 404 and await School.count() == before
    client.cookies.clear()
    await sign_in(client, settings, cast.outsider)  # an admin of another trust's school
    response = await post_form(client, "/admin/school/new", {"name": "Rogue School", "urn": "", "laestab": "8019999"},
                               page=PAGE)
    assert response.status_code == 404 and await School.count() == before


async def test_a_slug_is_made_unique(client, settings, cast, trust_admin):
    await School.insert(School(trust=(await school(cast.other_school_id))["trust"], name="Juniors", slug="juniors",
                               la_code="802", establishment_number="4005", created_at=clock.now()))
    await sign_in(client, settings, trust_admin)
    await post_form(client, "/admin/school/new", {"name": "Juniors", "urn": "", "laestab": "8014005"}, page=PAGE)
    assert (await School.select(School.slug).where(School.la_code == "801").order_by(School.id, ascending=False)
            .first())["slug"] == "juniors-2"
