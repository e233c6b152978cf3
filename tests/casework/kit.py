"""Small helpers for the casework tests: open a case over HTTP as a given member, and read it back."""

from __future__ import annotations

import uuid

from app import clock
from app.domain.casework.tables import Case, CaseType
from app.domain.casework.service import ensure_types
from tests.conftest import post_form, sign_in


async def type_id(school_id: int, name: str) -> int:
    await ensure_types(school_id)
    return (await CaseType.select(CaseType.id).where((CaseType.school == school_id) & (CaseType.name == name)).first())["id"]


async def open_case(client, settings, member, pupil_id: int, *, keyworker=None, kind: str = "Pastoral",
                    reason: str = "Struggling with friendships since Easter", started=None, key: str | None = None,
                    school_id: int | None = None) -> int:
    """Open a case as `member` (signed in on `client`); returns the new case's id."""
    await sign_in(client, settings, member)
    data = {"pupil_id": str(pupil_id), "keyworker_id": str((keyworker or member).id),
            "type_id": str(await type_id(school_id or member.school_id, kind)), "reason": reason,
            "started_on": (started or clock.now().date()).isoformat(), "review_weeks": "",
            "idempotency_key": key or str(uuid.uuid4())}
    response = await post_form(client, "/casework/", data)
    assert response.status_code == 200, response.text
    return int(str(response.url).rstrip("/").rsplit("/", 1)[1])


async def case_row(case_id: int) -> dict:
    return await Case.select().where(Case.id == case_id).first()
