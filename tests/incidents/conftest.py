import pytest

from app.domain.incidents.service import ensure_defaults
from app.domain.incidents.tables import Category, Location
from app.domain.schools.tables import Membership
from tests.conftest import add_pupil, csrf


@pytest.fixture
async def school(cast):
    """The cast's school with its default categories and locations, pupils in years 8 and 9, and a head of
    year for year 9 only."""
    await ensure_defaults(cast.school_id)
    await ensure_defaults(cast.other_school_id)
    await Membership.update({Membership.years: "9"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))
    cast.ava = await add_pupil(cast.school_id, "Ava", "Okafor", year="9", form="9A")
    cast.ben = await add_pupil(cast.school_id, "Ben", "Tran", year="9", form="9A")
    cast.cal = await add_pupil(cast.school_id, "Cal", "Reid", year="8", form="8B")
    cast.elsewhere = await add_pupil(cast.other_school_id, "Eve", "Elsewhere", year="9", form="9A")
    cats = {c["name"]: c["id"] for c in await Category.select(Category.id, Category.name).where(
        Category.school == cast.school_id)}
    cast.fighting, cast.disruption, cast.kindness = cats["Fighting / physical aggression"], \
        cats["Low-level disruption"], cats["Kindness"]
    cast.canteen = (await Location.select(Location.id).where(
        (Location.school == cast.school_id) & (Location.name == "Canteen")).first())["id"]
    cast.other_location = (await Location.select(Location.id).where(Location.school == cast.other_school_id).first())["id"]
    return cast


async def log(client, fields: dict, *, key: str | None = None):
    token = await csrf(client, "/incidents/new")
    data = {"_csrf_token": token, **fields}
    if key:
        data["idempotency_key"] = key
    return await client.post("/incidents/", data=data, follow_redirects=False)
