"""The admin page over HTTP: upload, check the dry-run preview, apply, see the result."""

import json
import re

from app.domain.audit.tables import AuditEvent
from app.domain.imports.formats import MAX_UPLOAD_BYTES
from app.domain.imports.tables import ImportBatch
from app.domain.pupils.tables import Pupil
from app.domain.schools import service as schools
from app.domain.audit.service import Origin
from app.main import create_app
from tests.conftest import Member, csrf, http_client, sign_in
from tests.imports.files import corridor_set, photo, pupil_rows, zip_of


async def upload(client, data: bytes, *, photos: bytes | None = None, mode: str = "bulk", token: str | None = None):
    token = token if token is not None else await csrf(client, "/admin/import")
    files = {"file": ("export.zip", data, "application/zip")}
    if photos is not None:
        files["photos"] = ("photos.zip", photos, "application/zip")
    return await client.post("/admin/import", data={"_csrf_token": token, "mode": mode}, files=files)


def cells(page: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S).group(1)
    return re.findall(r"<td>([^<]*)</td>", row)


async def test_an_admin_uploads_checks_the_preview_and_applies(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    home = await client.get("/")
    assert 'href="/admin/import"' in home.text and "Import from MIS" in home.text
    form = await client.get("/admin/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text and 'name="_csrf_token"' in form.text

    preview = await upload(client, corridor_set(), photos=zip_of({"P1.png": photo()}))
    assert preview.status_code == 200, preview.text
    key = str(preview.url).rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", key)  # a random key: no pupil data in the URL
    assert "nothing has changed yet" in preview.text
    assert cells(preview.text, "count-pupils") == ["4", "0", "0", "0"]
    assert cells(preview.text, "count-photos") == ["1", "0", "—", "0"]
    assert "Siobhán" not in str(preview.url) and "Shiv O&#39;Neill (year 7)" in preview.text
    assert await Pupil.count() == 0  # a dry run changes nothing

    token = re.search(r'name="_csrf_token" value="([^"]+)"', preview.text).group(1)
    done = await client.post(f"/admin/import/{key}/apply", data={"_csrf_token": token})
    assert done.status_code == 200 and str(done.url).endswith(f"/admin/import/{key}/result")
    assert cells(done.text, "done-pupils") == ["4", "0", "0", "0"]
    assert await Pupil.count() == 4

    event = await AuditEvent.select().where(AuditEvent.action == "import.applied").first()
    detail = json.loads(event["detail"])
    assert (detail["pupils_added"], detail["contacts_added"], detail["photos_added"]) == (4, 5, 1)
    assert event["actor_label"] == "Ada Admin <admin@northbridge.example>" and event["school"] == cast.school_id
    text = json.dumps(event, default=str)
    assert not any(name in text for name in ("Amara", "Okonkwo", "Siob", "Kowalsk", "Shah", "export.zip"))
    # Once applied, the uploaded files are gone: only the counts are kept.
    batch = await ImportBatch.select().where(ImportBatch.key == key).first()
    assert batch["data"] is None and batch["photos"] is None

    # Applying twice does nothing more; the preview now shows the result.
    twice = await client.post(f"/admin/import/{key}/apply", data={"_csrf_token": token})
    assert twice.status_code == 400 and "already been applied" in twice.text
    assert str((await client.get(f"/admin/import/{key}")).url).endswith("/result")
    assert await AuditEvent.count().where(AuditEvent.action == "import.applied") == 1


async def test_the_preview_shows_every_problem_and_a_malformed_file_has_no_apply_button(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    rows = pupil_rows()
    rows[0][1] = "A801200005001"
    page = await upload(client, corridor_set(pupils=rows, contacts=False))
    assert "1 problem: these rows will be skipped" in page.text
    assert "<td>pupils.csv</td><td>2</td><td>UPN A801200005001: the check letter is wrong</td>" in page.text

    broken = await upload(client, zip_of({"pupils.csv": "mis_id,upn\r\nP1,x\r\n"}))
    assert broken.status_code == 200 and "This file cannot be imported" in broken.text
    assert "Missing required columns: legal_first_name, legal_last_name, date_of_birth, year." in broken.text
    assert 'id="apply-form"' not in broken.text


async def test_a_delta_upload_says_nobody_will_be_marked_as_left(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await upload(client, corridor_set(), mode="delta")
    assert "nobody will be marked as left" in page.text


async def test_bad_uploads_show_the_form_again(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    token = await csrf(client, "/admin/import")
    empty = await client.post("/admin/import", data={"_csrf_token": token, "mode": "delta"},
                              files={"file": ("", b"", "application/octet-stream")})
    assert empty.status_code == 400 and "Choose the file to import" in empty.text
    assert '<option value="delta" selected>' in empty.text  # what they chose is kept
    no_token = await upload(client, corridor_set(), token="")
    assert no_token.status_code == 403 and await ImportBatch.count() == 0
    too_big = await upload(client, b"PK\x03\x04" + b"0" * (MAX_UPLOAD_BYTES + 2 * 1024 * 1024))
    assert too_big.status_code == 413 and await ImportBatch.count() == 0


async def test_only_admins_reach_the_import_page(client, settings, cast):
    for member in (cast.teacher, cast.responder, cast.pastoral, cast.head_of_year, cast.dsl, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/admin/import")).status_code == 404
        assert "/admin/import" not in (await client.get("/")).text
        token = await csrf(client, "/")
        attempt = await client.post("/admin/import", data={"_csrf_token": token},
                                    files={"file": ("export.zip", corridor_set(), "application/zip")})
        assert attempt.status_code == 404
    assert await ImportBatch.count() == 0


async def test_an_upload_is_reachable_only_by_its_uploader_at_its_school(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    preview = await upload(client, corridor_set())
    key = str(preview.url).rsplit("/", 1)[1]
    second_admin = await schools.add_person(email="admin2@northbridge.example", display_name="Second Admin",
                                            school_id=cast.school_id, roles=["admin"], actor=None, origin=Origin())
    for member in (cast.outsider, Member(second_admin, "admin2@northbridge.example", "Second Admin", cast.school_id)):
        async with http_client(create_app(settings)) as other:
            await sign_in(other, settings, member)
            assert (await other.get(f"/admin/import/{key}")).status_code == 404
            token = await csrf(other, "/")
            assert (await other.post(f"/admin/import/{key}/apply", data={"_csrf_token": token})).status_code == 404
            assert (await other.get(f"/admin/import/{key}/result")).status_code == 404
    assert await Pupil.count() == 0
