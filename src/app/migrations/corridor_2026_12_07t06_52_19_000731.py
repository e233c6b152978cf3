"""The MIS's child-protection, child-in-need and looked-after statuses as pupil attributes (issue 15, point 4):
imported from the pupil list (Corridor CSV and OneRoster), seen by the DSL team and pastoral leads, read by
first-day absence and the home visits' two-person rule. False until an import says otherwise."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T06:52:19:000731"
VERSION = "1.38.0"
DESCRIPTION = "pupil child_protection, child_in_need, looked_after"

FLAGS = ("child_protection", "child_in_need", "looked_after")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    for name in FLAGS:
        manager.add_column(
            table_class_name="Pupil", tablename="pupil", column_name=name, db_column_name=name,
            column_class_name="Boolean", column_class=Boolean,
            params={"default": False, "null": False, "primary_key": False, "unique": False, "index": False,
                    "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
            schema=None)
    return manager
