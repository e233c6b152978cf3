from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class ChronologyFlag(Table):
    """A chronology entry marked significant for one pupil (a row while it is marked; unmarking deletes it, and
    the audit log keeps both). One row per (pupil, ref): the unique index chronology_flag_pupil_ref."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict)
    ref = Varchar(length=60)  # ChronologyEntry.ref, e.g. "incident:123"
    set_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    set_at = Timestamptz()
