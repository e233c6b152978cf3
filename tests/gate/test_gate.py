"""Lates at the gate: one tap per pupil, L up to the register-close minute and U after, the tap's own time
(an outbox replay later keeps it), one record for a double tap or a second tap in the session, today's list, the
pupil's chronology, bad input by field, and who may use it."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Incident
from app.domain.notifications.tables import AlertRecipient
from app.domain.pupils.tables import Pupil
from tests.conftest import add_pupil, csrf, post_form, sign_in
from tests.gate.kit import DAY, at, key, lates

L, U = "Late to school (before registers close, L)", "Late to school (after registers close, U)"


async def tap(client, pupil_id, *, k=None, **extra):
    """One tap on a pupil's button: the answer itself (a 303 to the gate page, or the page with messages)."""
    token = await csrf(client, "/gate/")
    return await client.post("/gate/", data={"pupil_id": str(pupil_id), "idempotency_key": k or key(),
                                              "_csrf_token": token, **extra}, follow_redirects=False)


async def test_a_late_up_to_register_close_is_L_and_after_it_U(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    ben = await add_pupil(cast.school_id, "Ben", "Brook")
    cal = await add_pupil(cast.school_id, "Cal", "Carter")
    frozen_clock.current = at("08:52")
    await sign_in(client, settings, cast.teacher)
    answer = await tap(client, ava)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/gate?logged=")
    assert "Ava" not in answer.headers["location"]  # no pupil data in the URL
    page = (await client.get(answer.headers["location"])).text
    assert "Logged." in page and "Ava Adeyemi" in page and "late at 08:52: L." in page
    frozen_clock.current = at("09:00")  # the close minute itself is still before close
    await tap(client, ben)
    frozen_clock.current = at("09:01")
    answer = await tap(client, cal, reason="Bus late")
    page = (await client.get(answer.headers["location"])).text
    assert "late at 09:01: U, after registers closed" in page
    assert [r["category.name"] for r in await lates(ava)] == [L]
    assert [r["category.name"] for r in await lates(ben)] == [L]
    [late] = await lates(cal)
    assert late["category.name"] == U and late["incident.note"] == "Bus late"
    assert late["incident.location.name"] == "Main gate"
    assert "incident.created" in [a["action"] for a in await AuditEvent.select(AuditEvent.action)]
    # Nobody is alerted per late (a morning brings dozens): today's list is where they are read.
    assert await AlertRecipient.count() == 0


async def test_the_afternoon_register_and_the_schools_own_close_times(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    frozen_clock.current = at("07:50")
    await sign_in(client, settings, cast.admin)
    assert (await post_form(client, "/admin/register-close/", {"am_close": "08:45", "pm_close": "13:30"},
                            page="/admin/register-close/")).status_code == 200
    frozen_clock.current = at("08:50")
    await tap(client, ava)  # after the school's 08:45: U
    frozen_clock.current = at("13:20")  # the afternoon register, before its close
    await sign_in(client, settings, cast.admin)
    await tap(client, ava)
    assert [r["category.name"] for r in await lates(ava)] == [U, L]


async def test_the_time_of_the_tap_decides_not_when_the_outbox_sends_it(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    frozen_clock.current = at("09:40")  # the signal came back at 09:40
    await sign_in(client, settings, cast.teacher)
    await tap(client, ava, occurred_at=f"{DAY.isoformat()}T08:58")
    [late] = await lates(ava)
    assert late["category.name"] == L


async def test_a_double_tap_or_a_second_gate_is_one_late_for_the_session(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    frozen_clock.current = at("08:55")
    await sign_in(client, settings, cast.teacher)
    k = key()
    first, again = await tap(client, ava, k=k), await tap(client, ava, k=k)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    other = await tap(client, ava)  # another key: another gate, or the page loaded twice
    assert other.headers["location"] == first.headers["location"]
    assert len(await lates(ava)) == 1 and await Incident.count() == 1
    frozen_clock.current = at("13:50")  # the afternoon is another session
    await sign_in(client, settings, cast.teacher)
    await tap(client, ava)
    assert len(await lates(ava)) == 2


async def test_todays_lates_are_listed_for_every_gate(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi", form="9B")
    ben = await add_pupil(cast.school_id, "Ben", "Brook")
    frozen_clock.current = at("08:55", DAY.replace(day=4))  # Friday's late is not today's
    await sign_in(client, settings, cast.responder)
    await tap(client, ben)
    frozen_clock.current = at("09:05")
    await sign_in(client, settings, cast.responder)
    await tap(client, ava, reason="Dentist")
    await sign_in(client, settings, cast.teacher)
    page = (await client.get("/gate/")).text
    assert "Late today <span class=\"count\">(1)</span>" in page
    assert "Ava Adeyemi" in page and "9B" in page and "09:05" in page and "Dentist" in page
    assert "by Ravi Responder" in page and "Ben Brook" not in page


async def test_a_gate_late_is_on_the_pupils_chronology(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    frozen_clock.current = at("09:10")
    await sign_in(client, settings, cast.teacher)
    await tap(client, ava, reason="Overslept")
    await sign_in(client, settings, cast.dsl)
    page = (await client.get(f"/chronology/pupil/{ava}")).text
    assert U in page and "Overslept" in page


async def test_find_by_name_upn_or_the_mis_id_on_a_card(client, settings, cast):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi", upn="A801200005001")
    await Pupil.update({Pupil.mis_id: "MIS-4471"}).where(Pupil.id == ava)
    other = await add_pupil(cast.other_school_id, "Ava", "Elsewhere")
    await Pupil.update({Pupil.mis_id: "MIS-9999"}).where(Pupil.id == other)
    await sign_in(client, settings, cast.teacher)
    for q in ("ava", "A801200005001", "MIS-4471"):
        page = (await post_form(client, "/gate/find", {"q": q}, page="/gate/")).text
        assert "Late: <span class=\"pupil-name\">Ava Adeyemi" in page, q
        assert "Elsewhere" not in page
    page = (await post_form(client, "/gate/find", {"q": "MIS-9999"}, page="/gate/")).text
    assert "No pupil found" in page


async def test_bad_input_is_refused_by_field_keeping_what_was_typed(client, settings, cast, frozen_clock):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    elsewhere = await add_pupil(cast.other_school_id, "Eli", "Elsewhere")
    frozen_clock.current = at("09:05")
    await sign_in(client, settings, cast.teacher)
    k = key()
    answer = await tap(client, ava, k=k, reason="x" * 201, _q="ava")
    assert answer.status_code == 400
    assert "Keep the reason to 200 characters" in answer.text and 'value="' + "x" * 201 + '"' in answer.text
    assert f'value="{k}"' in answer.text  # corrected, it is still the same entry
    answer = await tap(client, ava, occurred_at="yesterday", _q="ava")
    assert answer.status_code == 400 and "Enter the time like" in answer.text
    answer = await tap(client, ava, occurred_at=f"{DAY.isoformat()}T11:00")
    assert answer.status_code == 400 and "can&#39;t be in the future" in answer.text
    for pupil in (elsewhere, "abc", ""):
        answer = await tap(client, pupil)
        assert answer.status_code == 400 and "not on roll at this school" in answer.text
    assert await Incident.count() == 0
    assert (await tap(client, ava, k=k, reason="Bus")).status_code == 303  # the same key, corrected
    assert len(await lates(ava)) == 1


async def test_guests_and_other_schools_find_nothing(client, settings, cast):
    ava = await add_pupil(cast.school_id, "Ava", "Adeyemi")
    await sign_in(client, settings, cast.guest)
    assert (await client.get("/gate/")).status_code == 404
    assert (await tap(client, ava)).status_code == 404
    assert (await post_form(client, "/gate/find", {"q": "ava"})).status_code == 404
    await sign_in(client, settings, cast.outsider)
    assert (await tap(client, ava)).status_code == 400  # not on roll at their school: nothing said about it
    assert await Incident.count() == 0
    await sign_in(client, settings, cast.teacher)
    assert (await client.get("/admin/register-close/")).status_code == 404
    assert (await post_form(client, "/admin/register-close/", {"am_close": "08:30", "pm_close": "13:30"})
            ).status_code == 404


async def test_register_close_times_are_checked_and_audited(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = (await client.get("/admin/register-close/")).text
    assert 'value="09:00"' in page and 'value="13:45"' in page  # the defaults
    answer = await post_form(client, "/admin/register-close/", {"am_close": "9am", "pm_close": "08:00"},
                             page="/admin/register-close/")
    assert answer.status_code == 400
    assert "like 09:00" in answer.text and 'value="9am"' in answer.text and 'value="08:00"' in answer.text
    answer = await post_form(client, "/admin/register-close/", {"am_close": "10:00", "pm_close": "09:30"},
                             page="/admin/register-close/")
    assert "closes after the morning one" in answer.text
    await post_form(client, "/admin/register-close/", {"am_close": "08:50", "pm_close": "13:40"},
                    page="/admin/register-close/")
    [event] = await AuditEvent.select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.action == "register_close.changed")
    assert "08:50" in str(event["detail"]) and "09:00" in str(event["detail"])
    assert 'value="08:50"' in (await client.get("/admin/register-close/")).text
