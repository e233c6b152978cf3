from __future__ import annotations

from piccolo.columns import Boolean, Bytea, Date, ForeignKey, Integer, OnDelete, Real, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.schools.tables import School


class TutorGroup(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=40)
    year_code = Varchar(length=3)
    mis_id = Varchar(length=64, default="")
    tutor_name = Varchar(length=200, default="")


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
    preferred_last_name = Varchar(length=100, default="")
    house = Varchar(length=60, default="")
    keyworker = Varchar(length=200, default="")
    sen_need = Varchar(length=10, default="")
    medical_action = Text(default="")
    allergies = Text(default="")
    attendance_percent = Real(null=True, default=None)
    # Set by the DSL team: others see only "speak to the DSL before acting", never why.
    speak_to_dsl = Boolean(default=False)
    safeguarding_marker = Boolean(default=False)  # visible to the DSL team only
    # From the MIS (the pupil import), never set in Corridor: seen by the DSL team and pastoral leads only.
    child_protection = Boolean(default=False)
    child_in_need = Boolean(default=False)
    looked_after = Boolean(default=False)
    photo = Bytea(null=True, default=None)  # JPEG, at most 400 px: loaded only for the photo route
    photo_thumb = Bytea(null=True, default=None)  # JPEG, 96 px: for result lists
    updated_at = Timestamptz(null=True, default=None)


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
    mis_id = Varchar(length=64, default="")
