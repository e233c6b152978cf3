"""Every bad row is reported with its file, line and reason; a malformed upload applies nothing at all."""

import io
import zipfile

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.imports import service as imports
from app.domain.imports.tables import ImportBatch
from app.domain.pupils.tables import Pupil, TutorGroup
from app.errors import BadRequest, NotFound
from tests.imports.files import (PUPILS_HEADER, actor_of, contact_rows, corridor_set, pupil_rows, table, upn,
                                 zip_of)


async def preview(actor, data: bytes, name: str = "export.zip", **upload):
    key = await imports.store_upload(actor, imports.Upload(filename=name, data=data, **upload))
    return key, await imports.preview(actor, key)


async def test_it_reports_every_bad_row_with_file_line_and_reason(cast):
    admin = await actor_of(cast.admin)
    pupils = pupil_rows()
    pupils[0][1] = "A801200005001"       # line 2: the check letter is wrong (B is right)
    pupils[1][6] = "15"                  # line 3: no such year
    pupils.append(["P3", upn(7), "Twin", "Row", "", "2012-02-02", "9", "G9B", "", "", "", ""])  # line 6: P3 again
    pupils.append(["P8", upn(8), "", "Blank", "", "2012-02-02", "9", "", "", "", "", ""])        # line 7: no first name
    pupils.append(["P9", upn(9), "Kai", "Yearless", "", "2012-02-02", "KG", "", "", "", "", ""])  # line 8: no such year
    _, plan = await preview(admin, corridor_set(pupils=pupils, contacts=False, staff=False))
    assert not plan.fatal and plan.can_apply
    found = [(p.file, p.line, p.reason) for p in plan.errors]
    assert found == [
        ("pupils.csv", 2, "UPN A801200005001: the check letter is wrong"),
        ("pupils.csv", 3, "unknown year code '15' (use N1, N2, R, 1 to 14, E1, E2 or X)"),
        ("pupils.csv", 4, "duplicate id P3 (lines 4, 6)"),
        ("pupils.csv", 6, "duplicate id P3 (lines 4, 6)"),
        ("pupils.csv", 7, "no value in required column legal_first_name"),
        ("pupils.csv", 8, "unknown year code 'KG' (use N1, N2, R, 1 to 14, E1, E2 or X)"),
    ]
    assert plan.pupils_added == ["Priya Shah (year 9)"]  # the one good row


@pytest.mark.parametrize("value, reason", [
    ("B80120000500", "a UPN has 13 characters"),
    ("E000200005001", "000 is not a local-authority number"),
    ("B8012000X5001", "not a UPN"),
])
async def test_it_explains_other_bad_upns(cast, value, reason):
    admin = await actor_of(cast.admin)
    pupils = pupil_rows()
    pupils[2][1] = value
    _, plan = await preview(admin, corridor_set(pupils=pupils, contacts=False, staff=False))
    assert [(p.line, reason in p.reason) for p in plan.errors] == [(4, True)]


async def test_other_bad_values_are_reported(cast):
    admin = await actor_of(cast.admin)
    pupils = pupil_rows()
    pupils[0][5] = "31/02/2014"                      # no such date
    pupils[1][8], pupils[1][9] = "Z", ""             # no such SEN provision
    pupils[2][9] = "XYZ"                             # no such need
    pupils[3][11] = "140"                            # attendance over 100
    contacts = contact_rows()
    contacts[0][5] = "perhaps"                       # parental responsibility must be yes or no
    contacts[1][4] = "first"                         # priority must be a number
    contacts.append(["C1", "P1", "Ngozi Again", "Mother", "3", "yes", "", "", ""])  # the same contact twice
    _, plan = await preview(admin, corridor_set(pupils=pupils, contacts=contacts, staff=False))
    found = {(p.file, p.line): p.reason for p in plan.errors}
    assert "is not a date" in found[("pupils.csv", 2)]
    assert "unknown SEN provision code 'Z'" in found[("pupils.csv", 3)]
    assert "unknown SEN need code 'XYZ'" in found[("pupils.csv", 4)]
    assert "not between 0 and 100" in found[("pupils.csv", 5)]
    assert found[("contacts.csv", 2)] == "duplicate id C1 for pupil P1 (lines 2, 7)"
    assert "should be a whole number" in found[("contacts.csv", 3)]


@pytest.mark.parametrize("files, where, reason", [
    ({"pupils.csv": table(["mis_id", "upn", "legal_first_name", "date_of_birth", "year"], [["P1", upn(1), "A", "2014-01-01", "7"]])},
     ("pupils.csv", 1), "Missing required column: legal_last_name."),
    ({"contacts.csv": table(["mis_id", "name"], [["C1", "X"]])},
     ("contacts.csv", 1), "Missing required columns: pupil_id, relationship."),
    ({"pupils.csv": ""}, ("pupils.csv", 1), "The file is empty"),
    ({"pupils.csv": table(PUPILS_HEADER, []) + '"P1,' + upn(1) + ',Unclosed quote\r\n'}, ("pupils.csv", 2), "cannot be read as CSV"),
    ({"pupils.csv": table(PUPILS_HEADER, [])}, ("export.zip", None), "lists no pupils"),
    ({"../pupils.csv": "mis_id\r\n"}, ("export.zip", None), "unsafe name"),
    ({"a/pupils.csv": "x\r\n", "b/pupils.csv": "x\r\n"}, ("export.zip", None), "two files called pupils.csv"),
])
async def test_a_malformed_upload_applies_nothing(cast, files, where, reason):
    admin = await actor_of(cast.admin)
    # Good files alongside the bad one: still nothing of the upload may be applied.
    good = {"tutor_groups.csv": table(["mis_id", "name", "year"], [["G7A", "7A", "7"]])}
    key, plan = await preview(admin, zip_of({**good, **files}))
    assert not plan.can_apply
    assert [((p.file, p.line), reason in p.reason) for p in plan.fatal] == [(where, True)]
    with pytest.raises(BadRequest, match="nothing was changed"):
        await imports.apply(admin, key)
    assert await TutorGroup.count() == 0 and await Pupil.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "import.applied") == 0


async def test_not_a_zip_or_csv_is_refused(cast):
    admin = await actor_of(cast.admin)
    _, plan = await preview(admin, b"%PDF-1.7 not a spreadsheet", name="pupils.pdf")
    assert [p.reason for p in plan.fatal] == ["Upload a zip of CSV files, or one CSV file."]
    _, plan = await preview(admin, b"PK\x03\x04 broken", name="export.zip")
    assert [p.reason for p in plan.fatal] == ["This is not a zip file Corridor can read."]
    _, plan = await preview(admin, zip_of({"notes.txt": "hello", "students.csv": "a,b\r\n"}))
    assert len(plan.fatal) == 1 and plan.fatal[0].reason.startswith("No Corridor CSV files found")


async def test_a_zip_bomb_is_refused_before_it_is_unpacked(cast):
    admin = await actor_of(cast.admin)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("pupils.csv", "w", force_zip64=True) as member:
            chunk = b"0" * (1024 * 1024)
            for _ in range(201):
                member.write(chunk)
    assert len(buffer.getvalue()) < 1024 * 1024
    _, plan = await preview(admin, buffer.getvalue())
    assert [p.reason for p in plan.fatal] == ["Unpacked, the zip would be larger than 200 MB."]


async def test_a_single_csv_file_can_be_uploaded(cast):
    admin = await actor_of(cast.admin)
    _, plan = await preview(admin, table(PUPILS_HEADER, pupil_rows()).encode("utf-8"), name="pupils.csv")
    # The tutor groups are not in this upload: those rows are reported, the rest can be added.
    assert len(plan.pupils_added) == 0 and {p.reason for p in plan.errors} == {
        "unknown tutor group id G7A", "unknown tutor group id G9B"}


async def test_a_windows_1252_csv_keeps_its_accents(cast):
    admin = await actor_of(cast.admin)
    rows = [[r[0], r[1], r[2], r[3], r[5], r[6]] for r in pupil_rows()]
    text = table(["mis_id", "upn", "legal_first_name", "legal_last_name", "date_of_birth", "year"], rows)
    key, _ = await preview(admin, text.encode("cp1252"), name="pupils.csv")
    await imports.apply(admin, key)
    assert (await Pupil.select(Pupil.legal_first_name).where(Pupil.mis_id == "P2").first())["legal_first_name"] == "Siobhán"


async def test_an_upload_cannot_be_seen_from_another_school(cast):
    admin, outsider = await actor_of(cast.admin), await actor_of(cast.outsider)
    key, _ = await preview(admin, corridor_set())
    with pytest.raises(NotFound):
        await imports.preview(outsider, key)
    with pytest.raises(NotFound):
        await imports.apply(outsider, key)
    assert await Pupil.count() == 0 and await ImportBatch.count() == 1
