"""A school's phase of education (DfE: nursery, primary, middle, secondary, all-through, 16 plus, alternative
provision, special), given at `corridor setup`; empty for schools made before it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T12:31:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "school phase"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    manager.add_column(
        table_class_name="School",
        tablename="school",
        column_name="phase",
        db_column_name="phase",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 30,
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
