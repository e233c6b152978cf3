"""The OneRoster org sourcedId a MIS import matched or created a school from, so that later imports of the
trust's export match the school by it (empty for schools no OneRoster import has named)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T10:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "school oneroster sourcedId"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    manager.add_column(
        table_class_name="School",
        tablename="school",
        column_name="oneroster_sourced_id",
        db_column_name="oneroster_sourced_id",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
