"""The append-only audit log: services write it inside the same transaction as the change."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app import clock
from app.domain.audit.tables import AuditEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from, copied into the audit log."""

    ip: str = ""
    device: str = ""


CLI = Origin(ip="cli", device="corridor command")


async def record(
    action: str,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    school_id: int | None = None,
    subject_type: str = "",
    subject_id: Any = "",
    subject_label: str = "",
    origin: Origin = Origin(),
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit event; call inside the transaction of the change it describes."""
    await AuditEvent.insert(
        AuditEvent(
            at=clock.now(),
            actor=actor_id,
            actor_label=actor_label,
            action=action,
            school=school_id,
            subject_type=subject_type,
            subject_id=str(subject_id) if subject_id != "" else "",
            subject_label=subject_label,
            ip=origin.ip,
            detail=json.dumps(detail, sort_keys=True) if detail else "",
        )
    )


async def list_events(*, school_id: int, trust_id: int, limit: int = 200, before_id: int | None = None) -> list[dict]:
    """Newest first: events of this school, plus trust-wide events (sign-ins have no school)."""
    from app.domain.schools.tables import Membership

    members = Membership.select(Membership.person).where(Membership.trust == trust_id)
    query = AuditEvent.select(
        AuditEvent.id, AuditEvent.at, AuditEvent.actor_label, AuditEvent.action, AuditEvent.subject_type,
        AuditEvent.subject_label, AuditEvent.ip, AuditEvent.detail,
    ).where(
        (AuditEvent.school == school_id)
        | (AuditEvent.school.is_null() & AuditEvent.actor.is_in(members))
    )
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return await query.order_by(AuditEvent.id, ascending=False).limit(limit)
