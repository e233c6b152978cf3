"""app.db replaces Piccolo's ForeignKey.__getattribute__ with the same method minus a dir() call per attribute
access. It must build exactly the SQL Piccolo builds, and be re-checked when Piccolo changes."""

from datetime import datetime, timezone

import piccolo
from piccolo.columns.column_types import ForeignKey

import app.db
from app.domain.accounts.tables import Session
from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Incident, IncidentPupil
from app.domain.oncall.tables import OnCallRequest
from app.domain.schools.tables import Membership


WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)


def _queries() -> list[str]:
    built = [
        IncidentPupil.select(IncidentPupil.id, IncidentPupil.incident.occurred_at, IncidentPupil.pupil.upn,
                             IncidentPupil.incident.school.name, IncidentPupil.incident.recorded_by.display_name)
        .where((IncidentPupil.incident.school == 1) & (IncidentPupil.pupil.upn == "A123"))
        .order_by(IncidentPupil.incident.occurred_at, ascending=False).limit(5),
        Incident.insert(Incident(school=1, recorded_by=2, occurred_at=WHEN, recorded_at=WHEN)),
        Membership.select(Membership.role, Membership.person.display_name, Membership.school.trust.name)
        .where(Membership.person == 3),
        Session.select(Session.all_columns(), Session.person.all_columns()).where(Session.person.id == 4),
        AuditEvent.select(AuditEvent.id).where(AuditEvent.actor == 1),
        OnCallRequest.select(*OnCallRequest.all_columns()).where(OnCallRequest.school == 2),
        Incident.update({Incident.location: None}).where(Incident.recorded_by.display_name == "x"),
    ]
    return [str(q) for q in built]


def test_the_faster_foreign_key_lookup_builds_the_same_sql_as_piccolo():
    patched = ForeignKey.__getattribute__
    assert getattr(patched, "corridor_speedup", False), (
        f"not applied: Piccolo is {piccolo.__VERSION__}, the copy in app/db.py is of {app.db.PICCOLO_COPIED_FROM}; "
        "compare it with the new ForeignKey.__getattribute__ and update it (or drop it if upstream fixed it)")
    ours = _queries()
    ForeignKey.__getattribute__ = patched.piccolo_original
    try:
        theirs = _queries()
    finally:
        ForeignKey.__getattribute__ = patched
    assert ours == theirs
    assert "JOIN" in ours[0] and "JOIN" in ours[2]  # the joins went through the replaced method
