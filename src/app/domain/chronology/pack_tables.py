from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class CasePack(Table):
    """A case-conference pack being prepared: what the producer chose, so preview, redaction and export survive a
    reload. The entries are read from the chronology at each step, never copied here."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)
    significant_only = Boolean(default=False)
    sources = Varchar(length=200, default="")  # comma-separated keys of chronology SOURCES
    # The free-text redactions with who added them and when (JSON). The phrases are kept here, with the pack
    # they apply to and visible only to its producer, never in the audit log, which many more people read.
    redactions = Text(default="[]")
    created_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
