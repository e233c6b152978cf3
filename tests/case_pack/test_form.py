"""The pack's form: a message per field with what was typed kept; a double submission makes one pack; every pack
made is audited in its transaction."""

from __future__ import annotations

import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.chronology.pack_tables import CasePack
from tests.case_pack.kit import detail, make_pack, pack_id, story


async def test_it_refuses_an_end_before_the_start_keeping_what_was_typed(client, settings, cast):
    people = await story(cast)
    refused = await make_pack(client, settings, cast.pastoral, people["amy"], starts_on="2026-11-20",
                              ends_on="2026-11-02", significant_only="1", sources=["incident", "referral"])
    assert refused.status_code == 400
    assert "The last date can&#39;t be before the first date." in refused.text or \
        "The last date can't be before the first date." in refused.text
    assert 'value="2026-11-20"' in refused.text and 'value="2026-11-02"' in refused.text
    assert 'id="significant_only" checked' in refused.text
    assert 'value="incident" checked' in refused.text and 'value="referral" checked' in refused.text
    assert 'value="contact" checked' not in refused.text
    bad = await make_pack(client, settings, cast.pastoral, people["amy"], starts_on="20/11/2026", sources=[])
    assert bad.status_code == 400
    assert "Enter the first date like 01/09/2026" in bad.text and "Choose at least one kind of entry." in bad.text
    assert 'value="20/11/2026"' in bad.text
    assert await CasePack.count() == 0


async def test_a_double_submission_makes_one_pack(client, settings, cast):
    people = await story(cast)
    key = str(uuid.uuid4())
    first = await make_pack(client, settings, cast.pastoral, people["amy"], key=key, starts_on="2026-11-01")
    second = await make_pack(client, settings, cast.pastoral, people["amy"], key=key, starts_on="2026-11-01")
    assert first.status_code == second.status_code == 200
    assert pack_id(first) == pack_id(second)
    assert await CasePack.count() == 1
    rows = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "case_pack.created")
    assert len(rows) == 1 and detail(rows[0])["start"] == "2026-11-01"
    previewed = await AuditEvent.count().where(AuditEvent.action == "case_pack.previewed")
    assert previewed == 2  # each look at the preview is a view of the chronology
