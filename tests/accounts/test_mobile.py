"""A person's own mobile number (issue 14, point 4: the home-visit alarm's texts): set on the account page, checked
as a UK mobile and kept as +447…, removed by leaving it empty; a bad number is named and kept as typed with nothing
changed; audited without the number; an admin of the person's school sees it, no one else's admin."""

from __future__ import annotations

import pytest

from app.domain.accounts.service import uk_mobile
from app.domain.audit.tables import AuditEvent
from app.domain.schools.tables import Person
from tests.conftest import csrf, sign_in


async def post(client, data: dict):
    token = await csrf(client, "/account")
    return await client.post("/account/mobile", data={**data, "_csrf_token": token}, follow_redirects=False)


async def mobile(person_id: int) -> str:
    return (await Person.select(Person.mobile).where(Person.id == person_id).first())["mobile"]


@pytest.mark.parametrize("typed, kept", [
    ("07700 900123", "+447700900123"), ("+44 7700 900123", "+447700900123"), ("+44 (0)7700-900123", "+447700900123"),
    ("0044 7911 123456", "+447911123456"), ("07624 123456", "+447624123456"), ("(07700) 900 123", "+447700900123"),
])
def test_it_reads_uk_mobiles_however_they_are_typed(typed, kept):
    assert uk_mobile(typed) == kept


@pytest.mark.parametrize("typed", ["020 7946 0000", "0700 900 1234", "07623 123456", "0770090012", "077009001234",
                                  "+1 415 555 0100", "seven seven", "07700 9OO123", "+447700900123x", "٠٧٧٠٠٩٠٠١٢٣"])
def test_it_refuses_what_is_not_a_uk_mobile(typed):
    assert uk_mobile(typed) is None


async def test_staff_set_change_and_remove_their_own_mobile_audited_without_the_number(client, cast, settings):
    await sign_in(client, settings, cast.dsl)
    answer = await post(client, {"mobile": "07700 900123"})
    assert answer.status_code == 303 and answer.headers["location"] == "/account?done=mobile"
    assert await mobile(cast.dsl.id) == "+447700900123"
    page = (await client.get(answer.headers["location"])).text
    assert "Mobile number saved." in page and 'value="+447700900123"' in page
    assert await mobile(cast.teacher.id) == ""  # nobody else's changed
    await post(client, {"mobile": ""})
    assert await mobile(cast.dsl.id) == ""
    audits = await AuditEvent.select(AuditEvent.action, AuditEvent.detail, AuditEvent.actor).where(
        AuditEvent.action == "person.mobile_changed").order_by(AuditEvent.id)
    assert [(a["actor"], a["detail"]) for a in audits] == [(cast.dsl.id, '{"mobile": "set"}'),
                                                           (cast.dsl.id, '{"mobile": "removed"}')]
    assert "900123" not in repr(await AuditEvent.select())


async def test_a_bad_number_is_named_kept_as_typed_and_changes_nothing(client, cast, settings):
    await Person.update({Person.mobile: "+447700900999"}).where(Person.id == cast.teacher.id)
    await sign_in(client, settings, cast.teacher)
    answer = await post(client, {"mobile": "020 7946 0000"})
    assert answer.status_code == 400
    assert "Give a UK mobile number, like 07700 900123" in answer.text
    assert 'value="020 7946 0000"' in answer.text and 'aria-invalid="true"' in answer.text
    assert await mobile(cast.teacher.id) == "+447700900999"
    assert await AuditEvent.count().where(AuditEvent.action == "person.mobile_changed") == 0


async def test_the_schools_admin_sees_it_and_another_schools_admin_does_not(client, cast, settings):
    await Person.update({Person.mobile: "+447700900123"}).where(Person.id == cast.responder.id)
    await sign_in(client, settings, cast.admin)
    page = await client.get(f"/admin/people/{cast.responder.id}")
    assert page.status_code == 200 and "+447700900123" in page.text
    await sign_in(client, settings, cast.outsider)
    page = await client.get(f"/admin/people/{cast.responder.id}")
    assert page.status_code == 404 and "900123" not in page.text
    await sign_in(client, settings, cast.teacher)
    assert (await client.get(f"/admin/people/{cast.responder.id}")).status_code == 404
