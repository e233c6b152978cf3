from __future__ import annotations

from piccolo.columns import Bytea, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.schools.tables import Person, School


class ImportBatch(Table):
    """An uploaded MIS export, kept between the dry-run preview and Apply.

    Stored in the database rather than a temp file so any server process can show the preview or apply it.
    The uploaded bytes are cleared once applied, and unapplied uploads are removed after a day: they hold
    pupil data.
    """

    key = Varchar(length=64, unique=True)  # random, the only handle in URLs
    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    uploaded_by = ForeignKey(references=Person, on_delete=OnDelete.cascade, null=True)  # empty: the command
    filename = Varchar(length=200)
    data = Bytea(null=True, default=None)
    photos_filename = Varchar(length=200, default="")
    photos = Bytea(null=True, default=None)
    mode = Varchar(length=10, default="bulk")  # for a Corridor CSV set: bulk (full export) or delta
    created_at = Timestamptz()
    applied_at = Timestamptz(null=True, default=None)
    result = Text(default="")  # JSON counts of what was applied, no names
