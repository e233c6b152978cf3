from __future__ import annotations

from piccolo.columns import Date, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import School


class RegisterClose(Table):
    """One row per school: when its registers close, morning and afternoon, in UK time ("HH:MM"). A late arrival
    at the gate up to that minute is L (present), after it U (unauthorised). A school without a row has the
    defaults."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    am_close = Varchar(length=5, default="09:00")
    pm_close = Varchar(length=5, default="13:45")
    updated_at = Timestamptz(null=True, default=None)


class FirstDayAlert(Table):
    """A flagged pupil absent without a reason on a day, told to the DSL team: one row per pupil and day, so the
    team is told once however often the first-day list is read."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.cascade)
    day = Date()
    ref = Varchar(length=40, unique=True)  # "<pupil>:<day>": the unique key that makes the alert once
    alerted_at = Timestamptz()
