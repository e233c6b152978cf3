from __future__ import annotations

from piccolo.columns import Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.tables import Person, School


class ContactLog(Table):
    """One contact with a pupil's family or an agency: a call, text, email, letter, meeting or home visit."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    # The MIS contact, while the MIS still has it (an import may replace contacts); with_label keeps who it was.
    contact = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True, default=None)
    agency = Varchar(length=200, default="")  # typed in when the contact was with an agency
    with_label = Varchar(length=260, default="")
    method = Varchar(length=12)
    direction = Varchar(length=3)
    outcome = Varchar(length=14)
    occurred_at = Timestamptz()
    summary = Text(default="")  # what was said
    voice = Text(default="")  # the parent's or child's own words
    follow_up_on = Date(null=True, default=None)
    recorded_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
