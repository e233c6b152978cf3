"""The dry run: what an import would add, change and mark as left, with nothing changed until Apply."""


import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.imports import service as imports
from app.domain.imports.tables import ImportBatch
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools.tables import School
from app.errors import BadRequest, NotFound
from tests.imports.files import actor_of, contact_rows, corridor_set, pupil_rows, upn


async def store(actor, data: bytes, **upload) -> str:
    return await imports.store_upload(actor, imports.Upload(filename="export.zip", data=data, **upload))


async def snapshot() -> list:
    return [await Pupil.select().order_by(Pupil.id), await Contact.select().order_by(Contact.id),
            await TutorGroup.select().order_by(TutorGroup.id), await School.select().order_by(School.id),
            await AuditEvent.count()]


async def test_the_preview_shows_adds_changes_and_leavers_and_changes_nothing(cast):
    admin = await actor_of(cast.admin)
    await imports.apply(admin, await store(admin, corridor_set()))
    before = await snapshot()

    rows = pupil_rows()[1:]                                   # P1 has left
    rows[0][10] = "Nut allergy: pen at reception"             # P2 changes
    rows.append(["P5", upn(5), "Nadia", "Haddad", "", "2013-03-03", "8", "G8C", "", "", "", ""])  # new, in a new form
    groups = [["G7A", "7A", "7", "Mr Tutor"], ["G9B", "9B", "9", "Ms Form"], ["G8C", "8C", "8", ""]]
    contacts = contact_rows()[2:]
    key = await store(admin, corridor_set(pupils=rows, groups=groups, contacts=contacts))
    plan = await imports.preview(admin, key)
    assert plan.can_apply and plan.bulk and plan.format_label == "Corridor CSV set"
    assert plan.pupils_added == ["Nadia Haddad (year 8)"]
    assert plan.pupils_changed == [("Shiv O'Neill (year 7)", ["medical alert"])]
    assert plan.pupils_left == ["Amara Okonkwo (year 7)"]
    assert (plan.pupils_unchanged, plan.groups_added, plan.groups_unchanged) == (2, ["8C"], 2)
    assert (plan.contacts_added, plan.contacts_changed, plan.contacts_unchanged) == (0, 0, 3)
    # Looking again gives the same answer, and nothing in the database has moved.
    assert (await imports.preview(admin, key)).counts() == plan.counts()
    assert await snapshot() == before

    applied = await imports.apply(admin, key)
    assert applied.counts() == plan.counts()


async def test_a_preview_warns_when_most_pupils_would_be_marked_as_left(cast):
    admin = await actor_of(cast.admin)
    rows = [[f"P{n}", upn(n), "Pupil", f"Number{n}", "", "2013-03-03", "8", "", "", "", "", ""] for n in range(1, 21)]
    await imports.apply(admin, await store(admin, corridor_set(pupils=rows, contacts=False, staff=False)))
    plan = await imports.preview(admin, await store(admin, corridor_set(pupils=rows[:5], contacts=False, staff=False)))
    assert len(plan.pupils_left) == 15 and plan.left_warning
    delta = await imports.preview(admin, await store(admin, corridor_set(pupils=rows[:5], contacts=False, staff=False),
                                                     delta=True))
    assert delta.pupils_left == [] and not delta.left_warning


async def test_applying_is_all_or_nothing(cast, monkeypatch):
    admin = await actor_of(cast.admin)
    key = await store(admin, corridor_set())
    before = await snapshot()

    async def database_fails(school_id):
        raise RuntimeError("the database went away")

    # A failure after every row was written, just before the end of the transaction.
    monkeypatch.setattr(imports, "mark_changed", database_fails)
    with pytest.raises(RuntimeError):
        await imports.apply(admin, key)
    assert await snapshot() == before
    assert (await ImportBatch.select(ImportBatch.applied_at).where(ImportBatch.key == key).first())["applied_at"] is None
    monkeypatch.undo()
    assert (await imports.apply(admin, key)).counts()["pupils_added"] == 4  # the upload can still be applied


async def test_an_upload_can_be_applied_once_and_expires_unapplied(cast, frozen_clock):
    admin = await actor_of(cast.admin)
    key = await store(admin, corridor_set())
    await imports.apply(admin, key)
    with pytest.raises(BadRequest, match="already been applied"):
        await imports.apply(admin, key)
    stale = await store(admin, corridor_set())
    frozen_clock.advance(hours=25)
    with pytest.raises(NotFound, match="expired"):
        await imports.preview(admin, stale)
    # Unapplied uploads hold pupil data: the next upload clears them away.
    await store(admin, corridor_set())
    assert await ImportBatch.count().where(ImportBatch.key == stale) == 0
    assert await ImportBatch.count().where(ImportBatch.key == key) == 1


async def test_a_preview_is_not_shown_to_another_school_or_role(cast):
    admin = await actor_of(cast.admin)
    key = await store(admin, corridor_set())
    for member in (cast.outsider, cast.teacher, cast.dsl):
        with pytest.raises(NotFound):
            await imports.preview(await actor_of(member), key)
    # The outsider's own admin role does not reach into this school, even naming its id.
    outsider_here = await actor_of(cast.outsider, school_id=cast.school_id)
    with pytest.raises(NotFound):
        await imports.preview(outsider_here, key)
    with pytest.raises(NotFound):
        await imports.preview(admin, "not-a-key")
