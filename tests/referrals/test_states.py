"""Referral states: every legal move with its dated note, every illegal one refused with a message, consent before
sending, bad input, double submission, audit."""

from __future__ import annotations

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.referrals import service as referrals
from app.domain.referrals.tables import Referral, ReferralEvent
from tests.conftest import sign_in
from tests.referrals.kit import CONSENT, PATH, key, make, post, pupil, service_id, state_of, text_of

pytestmark = pytest.mark.asyncio

LEGAL = [(a, b) for a, targets in referrals.MOVES.items() for b in targets]
ILLEGAL = [(a, b) for a in referrals.STATES for b in referrals.STATES if b not in referrals.MOVES[a]]


async def test_it_moves_along_every_legal_edge_with_a_dated_note(client, settings, cast, frozen_clock):
    pid = await pupil(cast)
    assert len(LEGAL) == 9
    for start, target in LEGAL:
        rid = await make(settings, cast.pastoral, pid, start)
        frozen_clock.advance(minutes=5)
        response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/move",
                              {"from_state": start, "to_state": target, "note": f"Now {target}, spoke to Sam"})
        assert response.status_code == 200, (start, target, response.text[:300])
        assert await state_of(rid) == target
        last = await ReferralEvent.select().where(ReferralEvent.referral == rid).order_by(
            ReferralEvent.id, ascending=False).first()
        assert (last["from_state"], last["to_state"], last["note"]) == (start, target, f"Now {target}, spoke to Sam")
        assert last["at"] == frozen_clock.current and last["by"] == cast.pastoral.id
        assert f"Now {target}, spoke to Sam" in response.text  # the history on the referral's page


async def test_it_refuses_every_illegal_move_with_a_message(client, settings, cast):
    pid = await pupil(cast)
    assert len(ILLEGAL) == 64 - 9
    made = {state: await make(settings, cast.dsl, pid, state) for state in referrals.STATES}
    await sign_in(client, settings, cast.dsl)
    for start, target in ILLEGAL:
        rid = made[start]
        before = await ReferralEvent.count().where(ReferralEvent.referral == rid)
        response = await post(client, settings, cast.dsl, f"/referrals/{rid}/move",
                              {"from_state": start, "to_state": target, "note": "Trying"})
        assert response.status_code == 400, (start, target)
        assert f"A referral that is {start} can't become {target}" in text_of(response.text), (start, target)
        assert await state_of(rid) == start
        assert await ReferralEvent.count().where(ReferralEvent.referral == rid) == before
    response = await post(client, settings, cast.dsl, f"/referrals/{made['sent']}/move",
                          {"from_state": "sent", "to_state": "nonsense", "note": "x"})
    assert response.status_code == 400 and await state_of(made["sent"]) == "sent"


async def test_it_needs_consent_or_a_reason_before_sending(client, settings, cast):
    pid = await pupil(cast)
    rid = await make(settings, cast.pastoral, pid, consent=False)
    response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/move",
                          {"from_state": "draft", "to_state": "sent", "note": "Sent by secure email"})
    assert response.status_code == 400
    assert "Record consent (who gave it, when and how) or why it was not needed" in text_of(response.text)
    assert "Sent by secure email" in response.text  # the note typed is kept
    assert await state_of(rid) == "draft"
    # Half a consent is not consent: who, when and how are all needed.
    response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/consent",
                          {"consent": "given", "consent_given_by": "Mr Able", "consent_on": "", "consent_how": ""})
    assert response.status_code == 400
    page = text_of(response.text)
    assert "Enter the date consent was given" in page and "Choose how consent was given." in page
    assert 'value="Mr Able"' in response.text
    response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/consent",
                          {"consent": "not_needed", "consent_not_needed": "Risk of significant harm: social care"})
    assert response.status_code == 200
    response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/move",
                          {"from_state": "draft", "to_state": "sent", "note": "Sent by secure email"})
    assert response.status_code == 200 and await state_of(rid) == "sent"
    assert "Not needed: Risk of significant harm" in text_of(response.text)


async def test_it_shows_each_bad_field_and_keeps_what_was_typed(client, settings, cast):
    pid = await pupil(cast)
    sid = await service_id(cast.school_id)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/referrals/new?pupil={pid}")
    assert page.status_code == 200 and "CAMHS" in page.text
    response = await post(client, settings, cast.pastoral, "/referrals/", {
        "pupil_id": str(pid), "service_id": "", "reason": "  ", "consent": "given",
        "consent_given_by": "Aunt Jo", "consent_on": "2099-01-01", "consent_how": "carrier pigeon",
        "idempotency_key": key()})
    assert response.status_code == 400
    page = text_of(response.text)
    for message in ("Choose the service you are referring to.", "Say why you are making this referral.",
                    "The date can't be in the future.", "Choose how consent was given."):
        assert message in page
    assert 'value="Aunt Jo"' in response.text and 'value="2099-01-01"' in response.text
    assert await Referral.count() == 0
    response = await post(client, settings, cast.pastoral, "/referrals/", {
        "pupil_id": str(pid), "service_id": str(sid), "reason": "x" * 10_001, "consent": "maybe",
        "idempotency_key": key()})
    assert response.status_code == 400
    assert "Keep this to 10,000 characters." in response.text and "Choose whether consent was given" in response.text
    assert await Referral.count() == 0


async def test_a_double_submission_makes_one_referral_and_one_move(client, settings, cast):
    pid = await pupil(cast)
    form = {"pupil_id": str(pid), "service_id": str(await service_id(cast.school_id, "School nurse")),
            "reason": "Headaches", "idempotency_key": key(), **CONSENT}
    first = await post(client, settings, cast.pastoral, "/referrals/", form)
    second = await post(client, settings, cast.pastoral, "/referrals/", form)
    assert first.status_code == second.status_code == 200
    assert first.url == second.url
    assert await Referral.count() == 1
    rid = (await Referral.select(Referral.id).first())["id"]
    move = {"from_state": "draft", "to_state": "sent", "note": "Emailed the nurse"}
    for _ in range(2):
        response = await post(client, settings, cast.pastoral, f"/referrals/{rid}/move", move)
        assert response.status_code == 200
    assert [e["to_state"] for e in await ReferralEvent.select(ReferralEvent.to_state).where(
        ReferralEvent.referral == rid).order_by(ReferralEvent.id)] == ["draft", "sent"]


async def test_it_audits_every_change_in_its_transaction(client, settings, cast):
    pid = await pupil(cast)
    rid = await make(settings, cast.pastoral, pid, "closed")
    response = await post(client, settings, cast.pastoral, f"/referrals/{await make(settings, cast.pastoral, pid)}/consent",
                          {"consent": "not_needed", "consent_not_needed": "Self-referral by a Year 13 student"})
    assert response.status_code == 200
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.subject_id, AuditEvent.actor).where(
        AuditEvent.action.like("referral%")).order_by(AuditEvent.id)
    mine = [r["action"] for r in rows if r["subject_id"] == str(rid)]
    assert mine == ["referral.created"] + ["referral.moved"] * len(PATH["closed"])
    assert rows[-1]["action"] == "referral.consent_recorded"
    assert all(r["actor"] == cast.pastoral.id for r in rows)
