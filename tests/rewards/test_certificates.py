"""Milestone certificates: the school's milestones (admin or pastoral lead, audited), the pupils who reached one in the
period and have no certificate yet, printing one or a batch as a PDF (recorded and audited, so it is not printed twice
by mistake), a reprint allowed only when said and flagged, and the same form sent twice recording once."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.domain.audit.tables import AuditEvent
from app.domain.rewards.tables import CertificateBatch, CertificatePrint
from tests.conftest import csrf, post_form, sign_in
from tests.rewards.kit import build, on_11_march  # noqa: F401 (a fixture)


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


async def milestones(client, settings, cast, value: str = "8, 13"):
    await sign_in(client, settings, cast.admin)
    answer = await post_form(client, "/rewards/milestones", {"milestones": value}, page="/rewards/milestones")
    client.cookies.clear()
    return answer


async def send(client, path: str, data: dict, page: str = "/rewards/certificates?year=9"):
    token = await csrf(client, page)
    return await client.post(path, data={"_csrf_token": token, **data})


async def test_the_school_sets_its_milestones(client, settings, cast, on_11_march):
    await sign_in(client, settings, cast.admin)
    assert 'value="50, 100, 250"' in (await client.get("/rewards/milestones")).text  # the defaults
    bad = await post_form(client, "/rewards/milestones", {"milestones": "50, lots"}, page="/rewards/milestones")
    assert bad.status_code == 400 and "“lots” is not a whole number" in bad.text and 'value="50, lots"' in bad.text
    ok = await post_form(client, "/rewards/milestones", {"milestones": "100 25,25"}, page="/rewards/milestones")
    assert ok.status_code == 200 and 'value="25, 100"' in ok.text and 'id="saved"' in ok.text
    event = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "rewards.milestones_changed").first()
    assert event is not None and "250" in str(event["detail"]) and "25" in str(event["detail"])
    client.cookies.clear()
    await sign_in(client, settings, cast.pastoral)  # pastoral (not the lead) does not set them
    assert (await client.get("/rewards/milestones")).status_code == 404


async def test_it_lists_who_reached_a_milestone_in_the_period(client, settings, cast, on_11_march):
    p = await build(cast)
    await milestones(client, settings, cast)
    await sign_in(client, settings, cast.pastoral)
    week = (await client.get("/rewards/certificates?year=9&period=week")).text
    assert f'id="cert-{p["ava"]}-13"' in week and f'id="cert-{p["ben"]}-8"' in week
    assert f'id="cert-{p["ava"]}-8"' not in week  # reached on 23 Feb, before this week
    assert "Ava Adeyemi, 9A: 13 points on 9 Mar (13 now)" in week
    term = (await client.get("/rewards/certificates?year=9&period=term")).text
    for pick in (f'cert-{p["ava"]}-8', f'cert-{p["ava"]}-13', f'cert-{p["ben"]}-8', f'cert-{p["cal"]}-8'):
        assert f'id="{pick}"' in term
    # Cal reached 8 on 5 January: the first minute of the term (3 points the day before).
    custom = (await client.get("/rewards/certificates?year=9&period=custom&start=2026-01-04&end=2026-01-04")).text
    assert f'id="cert-{p["cal"]}-8"' not in custom


async def test_printing_a_batch_records_it_once_and_the_pdf_names_each_pupil(client, settings, cast, on_11_march):
    p = await build(cast)
    await milestones(client, settings, cast)
    await sign_in(client, settings, cast.pastoral)
    form = {"year": "9", "period": "week", "key": "batch-1", "pick": [f"{p['ava']}:13", f"{p['ben']}:8"]}
    first = await send(client, "/rewards/certificates", form)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.headers["cache-control"] == "no-store"
    pages = text_of(first.content)
    assert len(pages) == 2
    assert "Ava Adeyemi" in pages[0] and "13 reward points in 2025–26" in pages[0] and "Form 9A" in pages[0]
    assert "Ben Brook" in pages[1] and "8 reward points" in pages[1] and "Northbridge Academy" in pages[1]
    # The same form again (a double tap, a reload): the same certificates, nothing recorded twice.
    again = await send(client, "/rewards/certificates", form)
    assert again.status_code == 200 and text_of(again.content) == pages
    assert await CertificateBatch.count() == 1 and await CertificatePrint.count() == 2
    printed = await AuditEvent.select(AuditEvent.subject_id, AuditEvent.detail).where(
        AuditEvent.action == "reward_certificate.printed")
    assert sorted(str(e["subject_id"]) for e in printed) == sorted([str(p["ava"]), str(p["ben"])])
    page = (await client.get("/rewards/certificates?year=9&period=week")).text
    assert f'id="cert-{p["ava"]}-13"' not in page and f'id="printed-{p["ava"]}-13"' in page
    assert "Printed 11 Mar 2026 at 16:00 by Pat Pastoral" in page


async def test_a_second_print_needs_saying_it_is_a_reprint_and_is_flagged(client, settings, cast, on_11_march):
    p = await build(cast)
    await milestones(client, settings, cast)
    await sign_in(client, settings, cast.pastoral)
    one = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "one",
                                                       "pick": f"{p['ava']}:13"})
    assert one.status_code == 200 and len(text_of(one.content)) == 1
    refused = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "two",
                                                           "pick": f"{p['ava']}:13"})
    assert refused.status_code == 400 and "Nothing was printed." in refused.text
    assert "was printed on 11 Mar 2026 at 16:00 by Pat Pastoral" in refused.text
    assert await CertificatePrint.count() == 1
    reprint = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "three",
                                                           "pick": f"{p['ava']}:13", "reprint": "1"})
    assert reprint.status_code == 200 and "Ava Adeyemi" in text_of(reprint.content)[0]
    flags = [r["reprint"] for r in await CertificatePrint.select(CertificatePrint.reprint).order_by(CertificatePrint.id)]
    assert flags == [False, True]
    assert await AuditEvent.count().where(AuditEvent.action == "reward_certificate.reprinted") == 1
    page = (await client.get("/rewards/certificates?year=9&period=week")).text
    assert "(2 prints, reprinted)" in page


async def test_bad_print_requests_print_nothing(client, settings, cast, on_11_march):
    p = await build(cast)
    await milestones(client, settings, cast)
    await sign_in(client, settings, cast.pastoral)
    none = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "a"})
    assert none.status_code == 400 and "Choose at least one pupil" in none.text
    early = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "b",
                                                         "pick": f"{p['ava']}:8"})  # reached before this week
    assert early.status_code == 400 and "has not reached that milestone in this period" in early.text
    dee = await send(client, "/rewards/certificates", {"year": "9", "period": "year", "key": "c",
                                                       "pick": f"{p['dee']}:50"})  # year 11, and no 50 reached
    assert dee.status_code == 400
    used = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "d",
                                                        "pick": f"{p['ava']}:13"})
    assert used.status_code == 200
    other = await send(client, "/rewards/certificates", {"year": "9", "period": "week", "key": "d",
                                                         "pick": f"{p['ben']}:8"})  # the same key, other pupils
    assert other.status_code == 400 and "already used for other pupils" in other.text
    assert await CertificatePrint.count() == 1


async def test_two_presses_at_once_record_one_batch(client, settings, cast, on_11_march):
    import asyncio

    p = await build(cast)
    await milestones(client, settings, cast)
    await sign_in(client, settings, cast.pastoral)
    token = await csrf(client, "/rewards/certificates?year=9")
    form = {"_csrf_token": token, "year": "9", "period": "week", "key": "racing", "pick": f"{p['ben']}:8"}
    first, second = await asyncio.gather(client.post("/rewards/certificates", data=form),
                                         client.post("/rewards/certificates", data=form))
    assert first.status_code == second.status_code == 200
    assert text_of(first.content) == text_of(second.content)
    assert await CertificateBatch.count() == 1 and await CertificatePrint.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action == "reward_certificate.printed") == 1
