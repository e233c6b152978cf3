"""Existing schools get the default categories added since they were set up: late arrival at school (before
and after the register closes: DfE L and U) and the no-points parts for a target and a witness. A school
that already has a category of that name (or a category for that part), retired or not, is left as it is."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Timestamptz, Varchar
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-03T09:11:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "late arrival and part categories for existing schools"

# Frozen here (the app's list may change later): kind, name, severity, points, part.
ADDED = [
    ("negative", "Late to school (before registers close, L)", 1, -1, ""),
    ("negative", "Late to school (after registers close, U)", 2, -2, ""),
    ("neutral", "Target (no sanction)", 0, 0, "target"),
    ("neutral", "Witness (no sanction)", 0, 0, "witness"),
]


class School(Table, tablename="school"):
    name = Varchar(length=200)


class Category(Table, tablename="category"):
    """The category table as this migration knows it."""

    school = Integer()
    kind = Varchar(length=10)
    name = Varchar(length=80)
    severity = Integer(default=0)
    points = Integer(default=0)
    position = Integer(default=0)
    retired_at = Timestamptz(null=True, default=None)
    part = Varchar(length=12, default="")


async def add_for_existing_schools() -> None:
    engine = engine_finder()
    School._meta.db = Category._meta.db = engine
    for school in await School.select(School.id):
        have = await Category.select(Category.name, Category.part).where(Category.school == school["id"])
        if not have:
            continue  # a school with no categories yet gets the whole default set when it is set up
        names, parts = {c["name"] for c in have}, {c["part"] for c in have}
        for kind, name, severity, points, part in ADDED:
            if name in names or (part and part in parts):
                continue
            await Category.insert(Category(school=school["id"], kind=kind, name=name, severity=severity,
                                           points=points, position=2 if kind == "negative" else 900, part=part))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_raw(add_for_existing_schools)
    return manager
