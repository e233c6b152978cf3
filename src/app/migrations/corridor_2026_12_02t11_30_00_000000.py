"""Columns for the audit log's hash chain; the next migration fills them for entries already there."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T11:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit event hash chain columns"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)

    for column_name in ("prev_hash", "entry_hash"):
        manager.add_column(
            table_class_name="AuditEvent",
            tablename="audit_event",
            column_name=column_name,
            db_column_name=column_name,
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
