"""Retention: each school's periods per record kind (defaults in service.DEFAULTS until changed), and legal holds
the DSL team sets on a pupil, with their history."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class RetentionPolicy(Table):
    """A school's own period for one kind of record. One row per (school, kind): the unique index
    retention_policy_school_kind. A kind with no row keeps its default."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=20)  # safeguarding | behaviour | casework | oncall | alerts
    basis = Varchar(length=6)  # age: until the pupil's Nth birthday | years: N years after the record's date
    years = Integer()
    updated_by = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    updated_at = Timestamptz()


class LegalHold(Table):
    """A pupil whose records retention must not delete (an investigation, a claim, an inquiry), while lifted_at is
    empty. Rows are never deleted: lifting fills lifted_by/lifted_at, so the history stays."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    reason = Text()
    set_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    set_at = Timestamptz()
    lifted_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True, default=None)
    lifted_at = Timestamptz(null=True, default=None)
    lift_reason = Text(default="")
