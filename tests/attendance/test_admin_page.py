"""The admin page over HTTP: upload, check the dry-run preview, apply, see the result; the school's bands. Admins
of this school only (404 for everyone else); an upload is reachable only by its uploader at its school."""

from __future__ import annotations

import json
import re

from app.domain.attendance.tables import AttendanceImport, AttendanceMark, AttendanceSettings
from app.domain.audit.tables import AuditEvent
from app.main import create_app
from tests.attendance.kit import FIXTURE, fixture_pupils
from tests.conftest import csrf, http_client, post_form, sign_in


async def upload(client, data: bytes, *, token: str | None = None, name: str = "marks.csv"):
    token = token if token is not None else await csrf(client, "/admin/attendance/")
    return await client.post("/admin/attendance/", data={"_csrf_token": token},
                             files={"file": (name, data, "text/csv")})


def cells(page: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S).group(1)
    return re.findall(r"<td>([^<]*)</td>", row)


async def test_an_admin_uploads_checks_the_preview_and_applies(client, settings, cast):
    await fixture_pupils(cast.school_id)
    await sign_in(client, settings, cast.admin)
    home = await client.get("/")
    assert 'href="/admin/attendance/"' in home.text and "Import attendance" in home.text
    form = await client.get("/admin/attendance/")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text

    data = FIXTURE.read_bytes() + b"A801200005001,,2025-12-18,AM,Q9,\r\n"
    preview = await upload(client, data)
    assert preview.status_code == 200, preview.text
    key = str(preview.url).rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", key)  # a random key: no pupil data in the URL
    assert "nothing has changed yet" in preview.text
    assert cells(preview.text, "count-marks") == ["750", "0", "0", "5"]
    assert "1 problem: these rows will be skipped" in preview.text
    assert "<td>752</td><td>&#39;Q9&#39; is not a DfE attendance code (2024 set).</td>" in preview.text
    assert await AttendanceMark.count() == 0  # a dry run changes nothing

    token = re.search(r'name="_csrf_token" value="([^"]+)"', preview.text).group(1)
    done = await client.post(f"/admin/attendance/{key}/apply", data={"_csrf_token": token})
    assert done.status_code == 200 and str(done.url).endswith(f"/admin/attendance/{key}/result")
    assert cells(done.text, "done-marks") == ["750", "0", "0", "5"] and "1 row was skipped" in done.text
    assert await AttendanceMark.count() == 750
    event = await AuditEvent.select().where(AuditEvent.action == "attendance.imported").first()
    assert event["actor_label"] == "Ada Admin <admin@northbridge.example>" and event["school"] == cast.school_id
    assert json.loads(event["detail"])["marks_added"] == 750
    batch = await AttendanceImport.select().where(AttendanceImport.key == key).first()
    assert batch["data"] is None  # once applied, only the counts are kept

    twice = await client.post(f"/admin/attendance/{key}/apply", data={"_csrf_token": token})
    assert twice.status_code == 400 and "already been applied" in twice.text
    assert str((await client.get(f"/admin/attendance/{key}")).url).endswith("/result")

    again = await upload(client, FIXTURE.read_bytes())
    assert cells(again.text, "count-marks") == ["0", "0", "750", "5"]


async def test_a_malformed_file_has_no_apply_button_and_bad_uploads_show_the_form_again(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    broken = await upload(client, b"upn,date,code\r\nA801200005001,2025-12-18,/\r\n")
    assert "This file cannot be imported" in broken.text and "Missing required column: session." in broken.text
    assert 'id="apply-form"' not in broken.text
    token = await csrf(client, "/admin/attendance/")
    empty = await client.post("/admin/attendance/", data={"_csrf_token": token},
                              files={"file": ("", b"", "application/octet-stream")})
    assert empty.status_code == 400 and "Choose the file of attendance marks" in empty.text
    no_token = await upload(client, FIXTURE.read_bytes(), token="")
    assert no_token.status_code == 403


async def test_only_this_schools_admins_reach_the_page(client, settings, cast):
    for member in (cast.teacher, cast.responder, cast.pastoral, cast.head_of_year, cast.dsl, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/admin/attendance/")).status_code == 404
        assert "/admin/attendance/" not in (await client.get("/")).text
        token = await csrf(client, "/")
        attempt = await client.post("/admin/attendance/", data={"_csrf_token": token},
                                    files={"file": ("marks.csv", FIXTURE.read_bytes(), "text/csv")})
        assert attempt.status_code == 404
    assert await AttendanceImport.count() == 0

    await fixture_pupils(cast.school_id)
    await sign_in(client, settings, cast.admin)
    key = str((await upload(client, FIXTURE.read_bytes())).url).rsplit("/", 1)[1]
    async with http_client(create_app(settings)) as other:
        # The other school's admin: not this upload, and an upload of theirs matches none of this school's pupils.
        await sign_in(other, settings, cast.outsider)
        assert (await other.get(f"/admin/attendance/{key}")).status_code == 404
        token = await csrf(other, "/")
        assert (await other.post(f"/admin/attendance/{key}/apply", data={"_csrf_token": token})).status_code == 404
        theirs = await upload(other, FIXTURE.read_bytes())
        assert cells(theirs.text, "count-marks") == ["0", "0", "0", "0"] and "750 problems" in theirs.text
        assert "No pupil at this school has UPN A801200005001." in theirs.text
    assert await AttendanceMark.count() == 0


async def test_the_admin_sets_the_bands(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/admin/attendance/")
    assert 'value="96"' in page.text and 'value="90"' in page.text and 'value="50"' in page.text
    bad = await post_form(client, "/admin/attendance/bands", {"expected_from": "95", "persistent_below": "40",
                                                             "severe_at_or_below": "sixty"}, page="/admin/attendance/")
    assert bad.status_code == 400 and "Severe absence at or below: give a percentage" in bad.text
    assert 'value="sixty"' in bad.text and 'value="40"' in bad.text  # what was typed is kept
    assert await AttendanceSettings.count() == 0
    done = await post_form(client, "/admin/attendance/bands", {"expected_from": "95", "persistent_below": "90",
                                                              "severe_at_or_below": "50"}, page="/admin/attendance/")
    assert done.status_code == 200 and "Bands saved." in done.text and 'value="95"' in done.text
    row = await AttendanceSettings.select().first()
    assert (row["school"], row["expected_from"]) == (cast.school_id, 95.0)
    event = await AuditEvent.select().where(AuditEvent.action == "attendance.bands_changed").first()
    assert json.loads(event["detail"])["before"]["expected_from"] == 96.0
    await sign_in(client, settings, cast.pastoral)
    token = await csrf(client, "/")
    refused = await client.post("/admin/attendance/bands", data={"_csrf_token": token, "expected_from": "80",
                                                                 "persistent_below": "70", "severe_at_or_below": "5"})
    assert refused.status_code == 404
