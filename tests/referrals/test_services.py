"""The school's list of services: defaults, and the admin adds, renames and retires; a retired service is not
offered for new referrals but stays on the referrals made to it."""

from __future__ import annotations

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.referrals import service as referrals
from app.domain.referrals.tables import ReferralService
from tests.conftest import sign_in
from tests.referrals.kit import make, post, pupil, service_id, text_of

pytestmark = pytest.mark.asyncio


async def names(school_id: int, *, retired: bool = False) -> list[str]:
    return [s["name"] for s in await referrals.services(school_id, retired=retired)]


async def test_a_school_starts_with_the_default_services(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/admin/referrals/")
    assert page.status_code == 200
    for name in ("CAMHS", "Early help", "Children's social care", "School nurse", "Young Carers",
                 "Educational psychology", "Attendance service", "School counsellor"):
        assert name in text_of(page.text)
    assert 'value="10"' in page.text  # ten school days before a chase
    assert len(await names(cast.school_id)) == 8


async def test_the_admin_adds_renames_and_retires_a_service(client, settings, cast):
    response = await post(client, settings, cast.admin, "/admin/referrals/services", {"name": "  Youth   offending team "})
    assert response.status_code == 200 and "Youth offending team" in response.text
    again = await post(client, settings, cast.admin, "/admin/referrals/services", {"name": "youth offending team"})
    assert again.status_code == 200
    assert (await names(cast.school_id)).count("Youth offending team") == 1  # a double submission adds one

    sid = await service_id(cast.school_id, "Youth offending team")
    response = await post(client, settings, cast.admin, f"/admin/referrals/services/{sid}", {"name": "YOT"})
    assert response.status_code == 200 and "YOT" in await names(cast.school_id)

    pid = await pupil(cast)
    old = await make(settings, cast.pastoral, pid, "sent", service="YOT")
    response = await post(client, settings, cast.admin, f"/admin/referrals/services/{sid}/retire", {})
    assert response.status_code == 200
    assert "YOT" not in await names(cast.school_id) and "YOT" in await names(cast.school_id, retired=True)

    await sign_in(client, settings, cast.pastoral)
    form = await client.get(f"/referrals/new?pupil={pid}")
    assert form.status_code == 200 and "YOT" not in form.text and "CAMHS" in form.text
    kept = await client.get(f"/referrals/{old}")
    assert "Referral to YOT" in kept.text and "no longer offered for new referrals" in kept.text
    refused = await post(client, settings, cast.pastoral, "/referrals/", {
        "pupil_id": str(pid), "service_id": str(sid), "reason": "Again", "consent": ""})
    assert refused.status_code == 400 and "Choose the service you are referring to." in refused.text

    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.action.like("referral_service.%")).order_by(AuditEvent.id)]
    assert actions == ["referral_service.added", "referral_service.renamed", "referral_service.retired"]


async def test_bad_names_and_numbers_are_refused_with_what_was_typed(client, settings, cast):
    response = await post(client, settings, cast.admin, "/admin/referrals/services", {"name": "   "})
    assert response.status_code == 400 and "Enter the service&#39;s name." in response.text
    response = await post(client, settings, cast.admin, "/admin/referrals/services", {"name": "x" * 81})
    assert response.status_code == 400 and "Keep the name to 80 characters." in response.text
    assert 'value="' + "x" * 81 + '"' in response.text
    nurse = await service_id(cast.school_id, "School nurse")
    response = await post(client, settings, cast.admin, f"/admin/referrals/services/{nurse}", {"name": "camhs"})
    assert response.status_code == 400 and "There is already a service called camhs." in response.text
    assert 'value="camhs"' in response.text
    response = await post(client, settings, cast.admin, "/admin/referrals/settings", {"chase_after_days": "ten"})
    assert response.status_code == 400 and "Enter a number of school days from 1 to 60." in response.text
    assert 'value="ten"' in response.text
    assert await referrals.chase_after_days(cast.school_id) == 10
    assert len(await names(cast.school_id, retired=True)) == 8


async def test_only_the_schools_admin_edits_its_list(client, settings, cast):
    sid = await service_id(cast.school_id)
    for member in (cast.pastoral, cast.dsl, cast.teacher, cast.head_of_year):
        await sign_in(client, settings, member)
        assert (await client.get("/admin/referrals/")).status_code == 404
        response = await post(client, settings, member, f"/admin/referrals/services/{sid}/retire", {})
        assert response.status_code == 404
    # Another school's admin: A's service is not found, and their own list is their own.
    response = await post(client, settings, cast.outsider, f"/admin/referrals/services/{sid}/retire", {})
    assert response.status_code == 404
    response = await post(client, settings, cast.outsider, f"/admin/referrals/services/{sid}", {"name": "Mine now"})
    assert response.status_code == 404
    assert "CAMHS" in await names(cast.school_id)
    assert (await ReferralService.select(ReferralService.retired_at).where(ReferralService.id == sid).first())[
        "retired_at"] is None
