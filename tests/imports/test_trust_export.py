"""A OneRoster export of a whole trust: each school org matched to a school of the trust by URN, LAESTAB or
the sourcedId an earlier import remembered; a trust admin's import creates the schools missing and imports
each school's rows into its own school; a school's admin gets only their school's rows."""

import json
import os
import re
import subprocess
import sys

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.imports import service as imports
from app.domain.imports.tables import ImportBatch
from app.controllers.school_settings import NEW_SCHOOL_DEFAULTS
from app.domain.incidents.tables import Category
from app.domain.oncall.tables import OnCallReason
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools.service import roles_at
from app.domain.schools.tables import Person, School
from app.errors import BadRequest, NotFound
from app.main import create_app
from tests.conftest import csrf, http_client, sign_in
from tests.imports.files import actor_of, oneroster_zip, upn, user

JUNIORS_URN = "137452"


def trust_orgs(*, juniors_ident=JUNIORS_URN, academy_ident="8014001", new_idents=("801/4009", "140001")) -> list[list]:
    return [
        ["ORG0", "", "", "Northbridge Trust", "district", "", ""],
        ["NA", "", "", "Northbridge Academy", "school", academy_ident, "ORG0"],   # school A, by LAESTAB
        ["NJ", "", "", "Northbridge Juniors", "school", juniors_ident, "ORG0"],   # school B, by URN
        ["SM", "", "", "St Mary's Catholic Primary", "school", new_idents[0], "ORG0"],  # to create (LAESTAB)
        ["EC", "", "", "École Saint-Jérôme", "school", new_idents[1], "ORG0"],      # to create (URN)
    ]


def trust_users() -> list[list]:
    return [
        user("A1", "student", "Amara", "Okonkwo", org="NA", ident=upn(1), agents="P1", grades="07"),
        user("A2", "student", "Tomasz", "Kowalski", org="NA", ident=upn(2), grades="09"),
        user("J1", "student", "Jess", "Junior", org="NJ", ident=upn(3, establishment="4003"), grades="04"),
        user("M1", "student", "Siobhán", "O'Neill-Byrne", org="SM", ident=upn(4, establishment="4009"), agents="P2",
             grades="05"),
        user("E1", "student", "Zoë", "D'Arcy", org="EC", ident=upn(5, establishment="4010"), grades="06"),
        user("P1", "parent", "Ngozi", "Okonkwo", phone="07700 900001"),
        user("P2", "guardian", "Maeve", "O'Neill", phone="07700 900002"),
        user("T1", "teacher", "Tess", "Tutor", org="NA,SM", email="tess.tutor@northbridge.example"),
    ]


def trust_classes() -> list[list]:
    return [[sid, "", "", title, grades, "", code, "homeroom", "", org, "", "", "", ""]
            for sid, title, grades, code, org in (("K7A", "Form 7A", "07", "7A", "NA"), ("K4J", "Form 4J", "04", "4J", "NJ"),
                                                  ("K5M", "Form 5M", "05", "5M", "SM"), ("K6E", "Form 6E", "06", "6E", "EC"))]


def trust_enrollments() -> list[list]:
    return [["E1", "", "", "K7A", "NA", "A1", "student", "", "", ""],
            ["E2", "", "", "K4J", "NJ", "J1", "student", "", "", ""],
            ["E3", "", "", "K5M", "SM", "M1", "student", "", "", ""],
            ["E4", "", "", "K6E", "EC", "E1", "student", "", "", ""],
            ["E5", "", "", "K5M", "SM", "T1", "teacher", "true", "", ""]]


def trust_demographics() -> list[list]:
    return [[sid, "", "", born, ""] for sid, born in (("A1", "2014-10-02"), ("A2", "2012-05-12"), ("J1", "2017-01-09"),
                                                      ("M1", "2016-02-03"), ("E1", "2015-03-04"))]


def trust_export(**kwargs) -> bytes:
    return oneroster_zip(orgs=kwargs.pop("orgs", trust_orgs()), users=kwargs.pop("users", trust_users()),
                         classes=kwargs.pop("classes", trust_classes()),
                         enrollments=kwargs.pop("enrollments", trust_enrollments()),
                         demographics=kwargs.pop("demographics", trust_demographics()), **kwargs)


async def store(actor, data: bytes, **upload) -> str:
    return await imports.store_upload(actor, imports.Upload(filename="trust.zip", data=data, **upload))


async def snapshot() -> list:
    return [await School.select().order_by(School.id), await Pupil.select().order_by(Pupil.id),
            await Contact.select().order_by(Contact.id), await TutorGroup.select().order_by(TutorGroup.id),
            await Person.count(), await AuditEvent.count()]


@pytest.fixture
async def trust(cast, sister):
    """School B gets a URN, so the export can name it by URN and school A by its LAESTAB."""
    await School.update({School.urn: JUNIORS_URN}).where(School.id == sister["school_id"])
    return sister


async def pupils_of(school_id: int) -> set[str]:
    return {r["mis_id"] for r in await Pupil.select(Pupil.mis_id).where(Pupil.school == school_id)}


async def test_the_dry_run_matches_by_laestab_and_urn_lists_the_schools_it_would_create_and_changes_nothing(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    before = await snapshot()
    plan = await imports.preview(boss, await store(boss, trust_export()))
    assert plan.can_apply and plan.trust and plan.fatal == []
    assert [(o.label, o.describe()) for o in plan.orgs] == [
        ("Northbridge Academy (LAESTAB 8014001)", "matches Northbridge Academy"),
        ("Northbridge Juniors (URN 137452)", "matches Northbridge Juniors"),
        ("St Mary's Catholic Primary (LAESTAB 8014009)", "would create St Mary's Catholic Primary"),
        ("École Saint-Jérôme (URN 140001)", "would create École Saint-Jérôme")]
    parts = {p.school_name: p for p in plan.parts}
    assert parts["Northbridge Academy"].pupils_added == ["Amara Okonkwo (year 7)", "Tomasz Kowalski (year 9)"]
    assert parts["Northbridge Juniors"].pupils_added == ["Jess Junior (year 4)"]
    assert parts["St Mary's Catholic Primary"].new_school and parts["St Mary's Catholic Primary"].school_id is None
    assert parts["St Mary's Catholic Primary"].pupils_added == ["Siobhán O'Neill-Byrne (year 5)"]
    assert parts["École Saint-Jérôme"].pupils_added == ["Zoë D'Arcy (year 6)"]
    assert plan.counts()["pupils_added"] == 5 and plan.errors == []
    assert await snapshot() == before  # a dry run changes nothing, not even a school


async def test_applying_creates_the_missing_schools_and_imports_each_schools_rows_into_its_own(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    plan = await imports.apply(boss, await store(boss, trust_export()), prepare=NEW_SCHOOL_DEFAULTS)
    assert [o.describe(applied=True) for o in plan.orgs][2:] == ["created St Mary's Catholic Primary",
                                                                  "created École Saint-Jérôme"]
    mary = await School.select().where(School.name == "St Mary's Catholic Primary").first()
    ecole = await School.select().where(School.name == "École Saint-Jérôme").first()
    trust_id = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    assert (mary["trust"], mary["la_code"], mary["establishment_number"], mary["urn"], mary["slug"],
            mary["oneroster_sourced_id"]) == (trust_id, "801", "4009", None, "st-marys-catholic-primary", "SM")
    assert (ecole["trust"], ecole["urn"], ecole["la_code"], ecole["slug"], ecole["oneroster_sourced_id"]) == (
        trust_id, "140001", "", "ecole-saint-jerome", "EC")
    # Each school's pupils in its own school, names intact.
    assert await pupils_of(cast.school_id) == {"A1", "A2"}
    assert await pupils_of(trust["school_id"]) == {"J1"}
    assert await pupils_of(mary["id"]) == {"M1"} and await pupils_of(ecole["id"]) == {"E1"}
    siobhan = await Pupil.select(Pupil.legal_first_name, Pupil.legal_last_name, Pupil.tutor_group.name).where(
        Pupil.mis_id == "M1").first()
    assert siobhan == {"legal_first_name": "Siobhán", "legal_last_name": "O'Neill-Byrne", "tutor_group.name": "5M"}
    assert (await Pupil.select(Pupil.legal_first_name).where(Pupil.mis_id == "E1").first())["legal_first_name"] == "Zoë"
    maeve = await Contact.select(Contact.name, Contact.pupil.school).where(Contact.mis_id == "P2").first()
    assert maeve == {"name": "Maeve O'Neill", "pupil.school": mary["id"]}
    # A teacher of two schools has the staff role at both.
    tess = await Person.select(Person.id).where(Person.email == "tess.tutor@northbridge.example").first()
    assert await roles_at(tess["id"], cast.school_id) == {"staff"} and await roles_at(tess["id"], mary["id"]) == {"staff"}
    assert await roles_at(tess["id"], trust["school_id"]) == frozenset()
    # A new school starts as one added under School settings does: with the default categories and reasons.
    assert await Category.count().where(Category.school == mary["id"]) > 0
    assert await OnCallReason.count().where(OnCallReason.school == ecole["id"]) > 0
    # Audited: each school created, and the import at each school (numbers only, no pupil names).
    created = await AuditEvent.select().where(AuditEvent.action == "school.created").order_by(AuditEvent.id)
    assert [e["subject_label"] for e in created] == ["St Mary's Catholic Primary", "École Saint-Jérôme"]
    applied = await AuditEvent.select().where(AuditEvent.action == "import.applied").order_by(AuditEvent.id)
    assert [e["school"] for e in applied] == [cast.school_id, trust["school_id"], mary["id"], ecole["id"]]
    assert all(e["actor_label"] == "Tess Trust <ceo@northbridge.example>" for e in created + applied)
    assert json.loads(applied[2]["detail"])["school_created"] is True
    assert not any(name in json.dumps(applied, default=str) for name in ("Siob", "Okonkwo", "Zoë", "Junior"))
    # The result keeps each school's numbers.
    done = await imports.result(boss, plan.key)
    assert [(s["name"], s["created"], s["counts"]["pupils_added"]) for s in done["schools"]] == [
        ("Northbridge Academy", False, 2), ("Northbridge Juniors", False, 1),
        ("St Mary's Catholic Primary", True, 1), ("École Saint-Jérôme", True, 1)]
    assert done["counts"]["pupils_added"] == 5

    # The same export again: every org matches, nothing is created or changed.
    again = await imports.apply(boss, await store(boss, trust_export()))
    assert {o.action for o in again.orgs} == {"match"} and await School.count() == 5
    assert (again.counts()["pupils_added"], again.counts()["pupils_changed"]) == (0, 0)


async def test_a_later_export_matches_by_the_remembered_sourced_id(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    await imports.apply(boss, await store(boss, trust_export()))
    assert (await School.select(School.oneroster_sourced_id).where(School.id == cast.school_id).first()
            )["oneroster_sourced_id"] == "NA"
    # The MIS no longer sends identifiers (or the academy's LAESTAB changed): the sourcedIds still match.
    plan = await imports.preview(boss, await store(boss, trust_export(orgs=trust_orgs(
        juniors_ident="", academy_ident="8019999", new_idents=("", "")))))
    assert [(o.action, o.school_name) for o in plan.orgs] == [
        ("match", "Northbridge Academy"), ("match", "Northbridge Juniors"), ("match", "St Mary's Catholic Primary"),
        ("match", "École Saint-Jérôme")]
    assert plan.counts()["pupils_added"] == 0 and plan.counts()["pupils_unchanged"] == 5


async def test_a_school_admin_gets_only_their_schools_rows_and_no_school_is_created(cast, trust):
    before = await School.select().order_by(School.id)
    juniors_admin = await actor_of(trust["admin"])
    key = await store(juniors_admin, trust_export())
    plan = await imports.preview(juniors_admin, key)
    assert not plan.trust and plan.school_id == trust["school_id"]
    assert [(o.name, o.action) for o in plan.orgs] == [
        ("Northbridge Academy", "skip"), ("Northbridge Juniors", "match"), ("St Mary's Catholic Primary", "skip"),
        ("École Saint-Jérôme", "skip")]
    assert plan.orgs[0].describe() == ("skipped: not imported or created: only a trust admin imports other schools of "
                                       "the trust (or creates schools)")
    assert plan.pupils_added == ["Jess Junior (year 4)"]
    await imports.apply(juniors_admin, key)
    assert await School.select().order_by(School.id) != before  # B remembers its org now
    assert [s["id"] for s in await School.select(School.id).order_by(School.id)] == [s["id"] for s in before]
    assert await pupils_of(trust["school_id"]) == {"J1"} and await pupils_of(cast.school_id) == set()
    assert await AuditEvent.count().where(AuditEvent.action == "school.created") == 0

    # School A's admin, the same export: A's rows only; B's pupils are untouched (not marked as left).
    admin = await actor_of(cast.admin)
    await imports.apply(admin, await store(admin, trust_export()))
    assert await pupils_of(cast.school_id) == {"A1", "A2"}
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 0 and await School.count() == 3


async def test_without_orgs_a_delta_goes_to_the_school_that_remembers_its_org(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    await imports.apply(boss, await store(boss, trust_export()))
    users = [user("J2", "student", "New", "Junior", org="NJ", ident=upn(6, establishment="4003"), grades="04")]
    delta = trust_export(mode="delta", orgs=False, users=users, classes=False, enrollments=False,
                         demographics=[["J2", "", "", "2017-05-05", ""]])
    # The trust admin is at school A, but the users' org NJ was matched to the juniors before.
    plan = await imports.apply(boss, await store(boss, delta))
    assert plan.school_id == trust["school_id"] and await pupils_of(trust["school_id"]) == {"J1", "J2"}
    # A's own admin cannot put NJ's pupils into A.
    admin = await actor_of(cast.admin)
    refused = await imports.preview(admin, await store(admin, delta))
    assert [p.reason for p in refused.fatal] == [
        "This export is for another school: its users belong to the org NJ, which an earlier import matched to "
        "Northbridge Juniors."]


async def test_two_orgs_for_one_school_make_the_export_unusable(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    orgs = trust_orgs() + [["NA2", "", "", "Northbridge Academy Sixth Form", "school", "801 4001", "ORG0"]]
    key = await store(boss, trust_export(orgs=orgs))
    plan = await imports.preview(boss, key)
    assert [str(p) for p in plan.fatal] == [
        "orgs.csv line 7: Northbridge Academy Sixth Form and Northbridge Academy (line 3) are both Northbridge Academy"]
    with pytest.raises(BadRequest, match="nothing was changed"):
        await imports.apply(boss, key)
    assert await School.count() == 3 and await Pupil.count() == 0


async def test_an_org_with_no_urn_or_laestab_that_matches_nothing_is_skipped(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    plan = await imports.apply(boss, await store(boss, trust_export(orgs=trust_orgs(new_idents=("", "140001")))))
    mary = next(o for o in plan.orgs if o.sourced_id == "SM")
    assert mary.action == "skip" and "cannot tell which school it is" in mary.reason
    assert await School.count().where(School.name == "St Mary's Catholic Primary") == 0
    assert await Pupil.count().where(Pupil.mis_id == "M1") == 0 and await School.count() == 4


async def test_a_trust_admin_of_another_trust_never_reaches_this_trusts_schools(cast, trust):
    # Otto administers Elsewhere's trust. The Northbridge export, imported there, is theirs to create: none of
    # its rows reach Northbridge's schools.
    from app.domain.audit.service import Origin
    from app.domain.schools import service as schools

    await schools.add_person(email=cast.outsider.email, display_name="Otto Outsider", school_id=cast.other_school_id,
                             roles=["admin"], actor=None, origin=Origin(ip="test"), trust_wide=True)
    otto = await actor_of(cast.outsider)
    plan = await imports.preview(otto, await store(otto, trust_export()))
    assert plan.trust and [o.action for o in plan.orgs] == ["create"] * 4
    boss_key = await store(await actor_of(trust["trust_admin"]), trust_export())
    with pytest.raises(NotFound):
        await imports.preview(otto, boss_key)
    with pytest.raises(NotFound):
        await imports.apply(otto, boss_key)
    assert await Pupil.count() == 0


async def test_leavers_are_confirmed_per_school_in_a_trust_import(cast, trust):
    boss = await actor_of(trust["trust_admin"])
    users = trust_users() + [user(f"X{n}", "student", "Pupil", f"Number{n}", org="NA", ident=upn(100 + n),
                                  grades="08") for n in range(18)]
    demographics = trust_demographics() + [[f"X{n}", "", "", "2013-03-03", ""] for n in range(18)]
    await imports.apply(boss, await store(boss, trust_export(users=users, demographics=demographics)))
    assert len(await pupils_of(cast.school_id)) == 20
    before = await snapshot()
    # The next export has lost most of the academy's pupils (and would still create nothing new).
    fewer = [u for u in users if not (u[0].startswith("X") and int(u[0][1:]) < 12)]
    key = await store(boss, trust_export(users=fewer, demographics=demographics))
    plan = await imports.preview(boss, key)
    [academy] = plan.confirmations
    assert academy.school_id == cast.school_id and academy.left_statement == (
        "This import would mark 12 of 20 pupils at Northbridge Academy as left.")
    for confirm in (None, {cast.school_id: 11}, {trust["school_id"]: 12}):
        with pytest.raises(imports.LeaversUnconfirmed, match="would mark 12 of 20 pupils at Northbridge Academy"):
            await imports.apply(boss, key, confirm_left=confirm)
        assert await snapshot() == before
    done = await imports.apply(boss, key, confirm_left={cast.school_id: 12})
    assert done.counts()["pupils_left"] == 12


async def test_the_admin_page_shows_a_trust_admin_the_schools_and_hides_uploads_from_others(client, settings, cast,
                                                                                            trust):
    await sign_in(client, settings, trust["trust_admin"])
    form = await client.get("/admin/import")
    assert 'id="trust-hint"' in form.text
    token = await csrf(client, "/admin/import")
    page = await client.post("/admin/import", data={"_csrf_token": token, "mode": "bulk"},
                             files={"file": ("trust.zip", trust_export(), "application/zip")})
    assert page.status_code == 200
    key = str(page.url).rsplit("/", 1)[1]
    assert "Schools in this export" in page.text
    assert "St Mary&#39;s Catholic Primary (LAESTAB 8014009): <strong>would create St Mary&#39;s Catholic Primary</strong>" in page.text
    assert "École Saint-Jérôme (URN 140001): <strong>would create École Saint-Jérôme</strong>" in page.text
    assert "Siobhán O&#39;Neill-Byrne (year 5)" in page.text and await School.count() == 3

    for member in (cast.teacher, trust["admin"], cast.admin, cast.outsider):
        async with http_client(create_app(settings)) as other:
            await sign_in(other, settings, member)
            assert (await other.get(f"/admin/import/{key}")).status_code == 404
            other_token = await csrf(other, "/")
            assert (await other.post(f"/admin/import/{key}/apply",
                                     data={"_csrf_token": other_token})).status_code == 404
    assert await School.count() == 3 and await Pupil.count() == 0

    apply_token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    done = await client.post(f"/admin/import/{key}/apply", data={"_csrf_token": apply_token})
    assert done.status_code == 200 and 'id="import-schools"' in done.text
    assert "St Mary&#39;s Catholic Primary <strong>(created)</strong>" in done.text
    assert await School.count() == 5 and await Pupil.count() == 5
    mary = await School.select(School.id).where(School.name == "St Mary's Catholic Primary").first()
    assert await Category.count().where(Category.school == mary["id"]) > 0  # ready to log incidents


async def test_a_school_admins_page_says_other_schools_are_skipped(client, settings, cast, trust):
    await sign_in(client, settings, cast.admin)
    assert 'id="school-hint"' in (await client.get("/admin/import")).text
    token = await csrf(client, "/admin/import")
    page = await client.post("/admin/import", data={"_csrf_token": token, "mode": "bulk"},
                             files={"file": ("trust.zip", trust_export(), "application/zip")})
    assert "Northbridge Academy (LAESTAB 8014001): <strong>matches Northbridge Academy</strong>" in page.text
    assert "Northbridge Juniors (URN 137452): <strong>skipped: not imported or created" in page.text
    assert "would create" not in page.text


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


async def test_the_command_imports_a_trust_export_without_naming_a_school(cast, trust, tmp_path):
    export = tmp_path / "trust.zip"
    export.write_bytes(trust_export())
    dry = corridor("import", str(export))
    assert dry.returncode == 0, dry.stderr
    assert "St Mary's Catholic Primary (LAESTAB 8014009): would create St Mary's Catholic Primary" in dry.stdout
    assert "Northbridge Juniors (URN 137452): matches Northbridge Juniors" in dry.stdout
    assert "  École Saint-Jérôme (new school):" in dry.stdout
    assert await School.count() == 3 and await ImportBatch.count() == 0

    done = corridor("import", str(export), "--apply")
    assert done.returncode == 0, done.stderr
    assert "created École Saint-Jérôme" in done.stdout and "  Northbridge Juniors [northbridge-juniors]:" in done.stdout
    assert await School.count() == 5 and await pupils_of(trust["school_id"]) == {"J1"}
    created = await School.select(School.id).where(School.name == "École Saint-Jérôme").first()
    assert await Category.count().where(Category.school == created["id"]) > 0  # the school is ready to use
    assert await OnCallReason.count().where(OnCallReason.school == created["id"]) > 0
    assert {e["actor_label"] for e in await AuditEvent.select(AuditEvent.actor_label).where(
        AuditEvent.action.is_in(["school.created", "import.applied"]))} == {"corridor command"}

    # --school: that school only, the others skipped.
    one = corridor("import", str(export), "--school", "northbridge-juniors")
    assert "Northbridge Academy (LAESTAB 8014001): skipped: not imported or created: the command imports only the " \
           "school --school names" in one.stdout
    # An export whose schools match no trust, with two trusts: say which.
    export.write_bytes(oneroster_zip(orgs=[["Z1", "", "", "Zed School", "school", "100001", ""],
                                           ["Z2", "", "", "Why School", "school", "100002", ""]]))
    unsure = corridor("import", str(export), "--apply")
    assert unsure.returncode != 0 and "--trust" in unsure.stderr
    assert await School.count() == 5


async def test_photos_go_to_the_school_that_has_the_pupil_and_an_empty_school_list_is_refused(cast, trust):
    from tests.imports.files import photo, zip_of

    boss = await actor_of(trust["trust_admin"])
    photos = zip_of({"J1.png": photo(), "M1.png": photo((10, 20, 30)), "NOBODY.png": photo()})
    key = await imports.store_upload(boss, imports.Upload(filename="trust.zip", data=trust_export(),
                                                          photos_filename="photos.zip", photos=photos))
    plan = await imports.apply(boss, key)
    assert [str(p) for p in plan.errors] == ["photos.zip: NOBODY.png: no pupil has this UPN or MIS id"]
    with_photo = await Pupil.select(Pupil.mis_id, Pupil.school).where(Pupil.photo.is_not_null()).order_by(Pupil.mis_id)
    mary = (await School.select(School.id).where(School.oneroster_sourced_id == "SM").first())["id"]
    assert with_photo == [{"mis_id": "J1", "school": trust["school_id"]}, {"mis_id": "M1", "school": mary}]

    # A full export that lists none of the juniors' pupils would mark them all as left: refused.
    users = [u for u in trust_users() if u[0] != "J1"]
    key = await store(boss, trust_export(users=users))
    refused = await imports.preview(boss, key)
    assert [str(p) for p in refused.fatal] == [
        "orgs.csv line 4: This full export lists no pupils of Northbridge Juniors: importing it would mark every "
        "pupil there as left. Check the export, or import it as changes only."]
    with pytest.raises(BadRequest, match="nothing was changed"):
        await imports.apply(boss, key)
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 0


async def test_a_trust_admins_one_school_export_without_an_identifier_is_their_own_school(cast, trust):
    boss = await actor_of(trust["trust_admin"])  # working at Northbridge Academy
    orgs = [["ORG1", "", "", "NB Academy (MIS name)", "school", "", ""]]
    users = [user("A1", "student", "Amara", "Okonkwo", org="ORG1", ident=upn(1), grades="07")]
    plan = await imports.apply(boss, await store(boss, trust_export(
        orgs=orgs, users=users, classes=False, enrollments=False, demographics=[["A1", "", "", "2014-10-02", ""]])))
    assert [(o.action, o.school_name) for o in plan.orgs] == [("match", "Northbridge Academy")]
    assert await pupils_of(cast.school_id) == {"A1"} and await School.count() == 3


async def test_an_org_that_may_be_a_school_without_identifiers_is_not_created(cast, trust):
    # The juniors were set up without a URN or LAESTAB: an org of their name with a LAESTAB may be them.
    await School.update({School.urn: None, School.la_code: "", School.establishment_number: ""}).where(
        School.id == trust["school_id"])
    boss = await actor_of(trust["trust_admin"])
    plan = await imports.preview(boss, await store(boss, trust_export(orgs=trust_orgs(juniors_ident="8014003"))))
    juniors = next(o for o in plan.orgs if o.sourced_id == "NJ")
    assert juniors.action == "skip" and juniors.reason.startswith(
        "it may be Northbridge Juniors, which has no URN or LAESTAB in Corridor to tell.")
