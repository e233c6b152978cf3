from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class RewardSettings(Table):
    """One row per school: the reward-point milestones that earn a certificate (a school without a row has the
    defaults, 50, 100 and 250)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    milestones = Text(default="50,100,250")  # ascending whole numbers, comma-separated
    updated_at = Timestamptz(null=True, default=None)


class CertificateBatch(Table):
    """One press of Print: the page's key makes a second press of the same form (a double tap, a reload) the
    same batch, so nothing is recorded twice; `picks` is what was asked for ("pupil:milestone ..."), so the same
    key with other pupils is refused."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    key = Text(unique=True)
    picks = Text()
    printed_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    printed_at = Timestamptz()


class CertificatePrint(Table):
    """A milestone certificate printed for a pupil: one row per certificate per batch. A reprint (the same pupil,
    milestone and academic year printed before) is flagged."""

    batch = ForeignKey(references=CertificateBatch, on_delete=OnDelete.cascade, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.cascade, index=True)
    milestone = Integer()
    year_start = Date()  # the academic year whose points reached the milestone
    points = Integer()  # the pupil's points that year when it was printed
    reprint = Boolean(default=False)
