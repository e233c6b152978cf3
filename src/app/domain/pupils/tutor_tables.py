"""Who tutors a form: a tutor group's tutor(s) as members of staff (the MIS import gives a tutor's name only)."""

from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Timestamptz
from piccolo.table import Table

from app.domain.pupils.tables import TutorGroup
from app.domain.schools.tables import Person, School


class FormTutor(Table):
    """A member of staff an admin named as a tutor of a form (one row each; unique per form and person). A form with
    none falls back to the tutor's name from the MIS when it is exactly one member of staff's name."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    tutor_group = ForeignKey(references=TutorGroup, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    set_by = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    set_at = Timestamptz()
