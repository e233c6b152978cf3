"""Late to school (before the register closes: L; after: U) is a default category, apart from late to lesson."""

import importlib

from app import clock
from app.domain.incidents.service import ensure_defaults
from app.domain.incidents.tables import Category
from tests.conftest import sign_in

BEFORE, AFTER = "Late to school (before registers close, L)", "Late to school (after registers close, U)"


async def names(school_id: int) -> list[str]:
    return [c["name"] for c in await Category.select(Category.name).where(Category.school == school_id)]


async def test_a_new_school_has_late_to_school_before_and_after_registers_close(client, settings, school):
    have = await names(school.school_id)
    assert BEFORE in have and AFTER in have and "Late to lesson" in have
    await sign_in(client, settings, school.teacher)
    page = (await client.get("/incidents/new")).text
    assert BEFORE in page and AFTER in page


async def test_ensure_defaults_adds_them_to_an_existing_school_once(cast):
    # A school set up before these existed: its own categories, one of them retired.
    await Category.delete().where(Category.school == cast.school_id)
    await Category.insert(Category(school=cast.school_id, kind="negative", name="Late to lesson", severity=1,
                                   points=-1),
                          Category(school=cast.school_id, kind="negative", name=AFTER, severity=2, points=-3,
                                   retired_at=clock.now()))
    await ensure_defaults(cast.school_id)
    await ensure_defaults(cast.school_id)
    have = await names(cast.school_id)
    assert have.count(BEFORE) == 1 and have.count(AFTER) == 1  # the retired one stays retired, not doubled
    assert have.count("Target (no sanction)") == 1 and have.count("Witness (no sanction)") == 1
    assert "Bullying" not in have  # a school's own list is not refilled


async def test_the_migration_adds_them_to_schools_that_existed_and_not_to_other_schools(cast, monkeypatch):
    migration = importlib.import_module("app.migrations.corridor_2026_12_03t09_11_01_000000")
    monkeypatch.setattr(migration, "engine_finder", lambda: Category._meta.db)
    await Category.delete(force=True)  # the other school is left with none: it gets the full set at set-up
    await Category.insert(Category(school=cast.school_id, kind="negative", name="Late to lesson", severity=1,
                                   points=-1))
    await migration.add_for_existing_schools()
    await migration.add_for_existing_schools()
    have = await names(cast.school_id)
    assert sorted(have) == sorted(["Late to lesson", BEFORE, AFTER, "Target (no sanction)", "Witness (no sanction)"])
    assert await names(cast.other_school_id) == []
