"""Staff from the MIS: a person by email with the staff role at this school, and no enrolment link."""

import pytest

from app.domain.accounts.tables import EnrolmentToken
from app.domain.imports import service as imports
from app.domain.schools.service import roles_at
from app.domain.schools.tables import Membership, Person
from app.errors import NotFound
from tests.imports.files import actor_of, corridor_set


async def run(actor, staff: list[list]):
    data = corridor_set(groups=False, pupils=False, contacts=False, staff=staff)
    key = await imports.store_upload(actor, imports.Upload(filename="staff.zip", data=data))
    return await imports.apply(actor, key)


async def test_new_staff_get_the_staff_role_and_existing_roles_are_kept(cast):
    admin = await actor_of(cast.admin)
    plan = await run(admin, [["New.Teacher@Northbridge.example", "Nia Teacher"],
                             [cast.dsl.email, "Dee Lead"], [cast.guest.email, "Gus Guest"]])
    assert sorted(plan.staff_added) == [cast.guest.email, "new.teacher@northbridge.example"]
    assert plan.staff_unchanged == 1
    nia = await Person.select().where(Person.email == "new.teacher@northbridge.example").first()
    assert nia["display_name"] == "Nia Teacher" and nia["guest_until"] is None
    assert await roles_at(nia["id"], cast.school_id) == {"staff"}
    assert await roles_at(cast.dsl.id, cast.school_id) == {"staff", "dsl"}  # nothing taken away
    assert await roles_at(cast.guest.id, cast.school_id) == {"guest", "staff"}
    # Signing in needs an enrolment link, which an admin sends from Staff and roles.
    assert await EnrolmentToken.count().where(EnrolmentToken.person == nia["id"]) == 0

    again = await run(admin, [["new.teacher@northbridge.example", "Nia Teacher"]])
    assert (again.staff_added, again.staff_unchanged) == ([], 1)
    assert await Membership.count().where(Membership.person == nia["id"]) == 1


async def test_bad_staff_rows_are_reported(cast):
    admin = await actor_of(cast.admin)
    plan = await run(admin, [["not-an-email", "Who"], ["a@northbridge.example", ""],
                             ["b@northbridge.example", "Bea"], ["B@northbridge.example", "Bea Again"]])
    assert [(p.file, p.line, p.reason) for p in plan.errors] == [
        ("staff.csv", 2, "'not-an-email' is not an email address"),
        ("staff.csv", 3, "no value in required column name"),
        ("staff.csv", 4, "duplicate email b@northbridge.example (lines 4, 5)"),
        ("staff.csv", 5, "duplicate email b@northbridge.example (lines 4, 5)"),
    ]
    assert await Person.count().where(Person.email.like("%@northbridge.example")) == 7  # the cast only


async def test_someone_at_another_trust_cannot_be_taken_over(cast):
    admin = await actor_of(cast.admin)
    plan = await run(admin, [[cast.outsider.email, "Otto Outsider"]])
    assert [p.reason for p in plan.errors] == [f"{cast.outsider.email} belongs to someone at another trust"]
    assert await roles_at(cast.outsider.id, cast.school_id) == frozenset()


async def test_a_responder_cannot_import_staff(cast):
    responder = await actor_of(cast.responder)
    with pytest.raises(NotFound):
        await run(responder, [["sneaky@northbridge.example", "Sneaky"]])
    assert await Person.count().where(Person.email == "sneaky@northbridge.example") == 0
