"""The MIS's child-protection, child-in-need and looked-after statuses come in with the pupil list: documented
columns of pupils.csv, metadata.* extension columns of a OneRoster users.csv. yes/no (empty: no); a bad value is an
error on its line and that pupil is not changed; a file without the columns changes no one's statuses; the preview
says a pupil's "safeguarding status" changes, never which one."""

import pytest

from app.domain.imports import service as imports
from app.domain.pupils.tables import Pupil
from tests.imports import files
from tests.imports.files import (PUPILS_HEADER, USERS_HEADER, actor_of, corridor_set, oneroster_users, oneroster_zip,
                                 pupil_rows)

FLAGS = ["child_protection", "child_in_need", "looked_after"]


async def run(actor, data: bytes, *, delta: bool = False):
    key = await imports.store_upload(actor, imports.Upload(filename="export.zip", data=data, delta=delta))
    return key, await imports.preview(actor, key)


async def statuses() -> dict[str, tuple[bool, bool, bool]]:
    rows = await Pupil.select(Pupil.mis_id, Pupil.legal_last_name, *(getattr(Pupil, f) for f in FLAGS))
    return {r["mis_id"]: tuple(bool(r[f]) for f in FLAGS) for r in rows}


def with_flags(values: dict[str, list[str]]) -> bytes:
    """The test school's pupils.csv plus the three columns (values by MIS id; others blank)."""
    rows = [row + values.get(row[0], ["", "", ""]) for row in pupil_rows()]
    return corridor_set(pupils=rows, pupils_header=PUPILS_HEADER + FLAGS, contacts=False, staff=False)


async def test_the_pupil_list_brings_the_three_statuses(cast):
    admin = await actor_of(cast.admin)
    key, plan = await run(admin, with_flags({"P1": ["yes", "", "no"], "P2": ["N", "Y", "TRUE"], "P3": ["0", "1", ""]}))
    assert not plan.errors
    await imports.apply(admin, key)
    assert await statuses() == {"P1": (True, False, False), "P2": (False, True, True), "P3": (False, True, False),
                                "P4": (False, False, False)}

    # A later list: P1's plan ended, P4 became looked after. The preview names the pupils and "safeguarding
    # status", not which status.
    key, plan = await run(admin, with_flags({"P1": ["no", "", ""], "P2": ["no", "yes", "yes"], "P3": ["", "yes", ""],
                                             "P4": ["", "", "yes"]}))
    changed = dict(plan.pupils_changed)
    assert changed == {"Amara Okonkwo (year 7)": ["safeguarding status"], "Priya Shah (year 9)": ["safeguarding status"]}
    assert plan.pupils_unchanged == 2
    await imports.apply(admin, key)
    got = await statuses()
    assert got["P1"] == (False, False, False) and got["P4"] == (False, False, True) and got["P2"] == (False, True, True)

    # The same list again changes nothing.
    _, plan = await run(admin, with_flags({"P1": ["no", "", ""], "P2": ["no", "yes", "yes"], "P3": ["", "yes", ""],
                                           "P4": ["", "", "yes"]}))
    assert not plan.pupils_changed and plan.pupils_unchanged == 4


async def test_a_list_without_the_columns_leaves_the_statuses_alone(cast):
    admin = await actor_of(cast.admin)
    key, _ = await run(admin, with_flags({"P2": ["yes", "yes", "yes"]}))
    await imports.apply(admin, key)
    key, plan = await run(admin, corridor_set(contacts=False, staff=False))  # the usual columns only
    assert not plan.pupils_changed
    await imports.apply(admin, key)
    assert (await statuses())["P2"] == (True, True, True)


@pytest.mark.parametrize("column,value", [("child_protection", "maybe"), ("child_in_need", "CIN"),
                                          ("looked_after", "2")])
async def test_a_bad_value_is_an_error_on_its_line_and_that_pupil_is_not_changed(cast, column, value):
    admin = await actor_of(cast.admin)
    key, _ = await run(admin, with_flags({"P3": ["yes", "", ""]}))
    await imports.apply(admin, key)
    before = await Pupil.select().where(Pupil.mis_id == "P3").first()

    rows = [row + ["", "", ""] for row in pupil_rows()]
    rows[2][2] = "Tom"  # P3 (line 4) would also change their first name
    rows[2][len(PUPILS_HEADER) + FLAGS.index(column)] = value
    rows[3][len(PUPILS_HEADER) + 2] = "yes"  # P4 (line 5) becomes looked after: a good row
    key, plan = await run(admin, corridor_set(pupils=rows, pupils_header=PUPILS_HEADER + FLAGS, contacts=False,
                                              staff=False))
    assert [(p.file, p.line, p.reason) for p in plan.errors] == [
        ("pupils.csv", 4, f"{column} {value!r} should be yes or no")]
    await imports.apply(admin, key)
    assert await Pupil.select().where(Pupil.mis_id == "P3").first() == before  # nothing of the bad row applied
    assert (await statuses())["P4"] == (False, False, True)


async def test_oneroster_users_carry_the_statuses_as_metadata_columns(cast, monkeypatch):
    admin = await actor_of(cast.admin)
    monkeypatch.setattr(files, "USERS_HEADER", USERS_HEADER + [f"metadata.{f}" for f in FLAGS])
    extra = {"S1": ["yes", "no", ""], "S2": ["", "", "yes"]}
    users = [u + extra.get(u[0], ["", "", ""]) for u in oneroster_users()]
    key, plan = await run(admin, oneroster_zip(users=users))
    assert not plan.errors
    await imports.apply(admin, key)
    got = await statuses()
    assert got["S1"] == (True, False, False) and got["S2"] == (False, False, True) and got["S3"] == (False,) * 3

    users[0][len(USERS_HEADER)] = "perhaps"  # S1, line 2 of users.csv
    users[0][8] = "Ama"  # and a new first name, which must not be applied either
    key, plan = await run(admin, oneroster_zip(users=users))
    assert [(p.file, p.line, p.reason) for p in plan.errors] == [
        ("users.csv", 2, "metadata.child_protection 'perhaps' should be yes or no")]
    await imports.apply(admin, key)
    assert (await statuses())["S1"] == (True, False, False)
    assert (await Pupil.select(Pupil.legal_first_name).where(Pupil.mis_id == "S1").first())["legal_first_name"] == "Amara"
