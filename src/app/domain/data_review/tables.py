from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Real, Text, Timestamptz
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class ReviewThresholds(Table):
    """One row per school: when a pupil is put on the early-intervention list (a school without a row has the
    defaults). Zero turns a threshold off."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    negative_incidents = Integer(default=3)  # this many negative incidents ...
    negative_days = Integer(default=7)  # ... within this many days
    attendance_below = Real(default=92.0)  # attendance under this ...
    attendance_weeks = Integer(default=4)  # ... over this many school weeks
    lates_per_half_term = Integer(default=5)
    drop_points = Real(default=5.0)  # attendance this many points under the last half term's
    penalty = Integer(default=1)  # 1: the penalty-threshold watcher puts a pupil on the list
    missing_clock_days = Integer(default=10)  # the missing-education clock at this many school days
    updated_at = Timestamptz(null=True, default=None)


class ReviewDismissal(Table):
    """A pupil taken off the early-intervention list with a reason. `crossings` holds the keys of what was
    crossed and when (e.g. "negative:2025-11-03"): the pupil comes back only for a crossing not among them."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    crossings = Text()
    reason = Text()
    dismissed_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    dismissed_at = Timestamptz()
