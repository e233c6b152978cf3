from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from app.domain.schools.tables import School


class TutorGroup(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=40)
    year_code = Varchar(length=3)


class Pupil(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    mis_id = Varchar(length=64)
    upn = Varchar(length=13, index=True)
    legal_first_name = Varchar(length=100)
    legal_last_name = Varchar(length=100)
    preferred_first_name = Varchar(length=100, default="")
    date_of_birth = Date()
    year_code = Varchar(length=3)
    tutor_group = ForeignKey(references=TutorGroup, on_delete=OnDelete.set_null, null=True)
    family_key = Varchar(length=40, default="", index=True)
    sen_provision = Varchar(length=1, default="N")
    medical_alert = Varchar(length=300, default="")
    left_on = Date(null=True, default=None)
    created_at = Timestamptz()


class Contact(Table):
    """A family contact of one pupil, in priority order (1 is called first)."""

    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200)
    relationship = Varchar(length=40)
    phone = Varchar(length=40, default="")
    email = Varchar(length=254, default="")
    priority = Integer(default=1)
    parental_responsibility = Boolean(default=True)
    no_contact = Boolean(default=False)
