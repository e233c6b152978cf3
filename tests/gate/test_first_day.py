"""First-day absence: after the morning register closes, the pupils marked N this morning (not those seen at the
gate), with contacts as the MIS allows and today's calls; a head of year sees their years; the DSL team has its
own list of flagged pupils and is alerted once per pupil and day, naming nobody."""

from __future__ import annotations

from app.domain.attendance import first_day
from app.domain.audit.tables import AuditEvent
from app.domain.contact_log.tables import ContactLog
from app.domain.notifications.tables import Alert, AlertRecipient
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.tables import Membership
from tests.attendance.kit import import_csv
from tests.conftest import add_pupil, give_passkey, sign_in
from tests.gate.kit import DAY, at
from tests.gate.test_gate import tap

HEADER = "upn,mis_id,date,session,code,minutes_late\r\n"


async def school_day(cast) -> dict[str, int]:
    """Six pupils and this morning's marks: Ava N, Ben present, Cal N but late at the gate, Dee L, Eve N (year 11),
    Fay N in the afternoon only; another school's pupil N."""
    ids = {}
    for name, year, form in [("Ava", "9", "9A"), ("Ben", "9", "9A"), ("Cal", "9", "9B"), ("Dee", "9", "9B"),
                             ("Eve", "11", "11A"), ("Fay", "9", "9A")]:
        ids[name] = await add_pupil(cast.school_id, name, "Pupil", year=year, form=form, upn=f"{name[0]}80120000500{len(ids)}")
    ids["Oz"] = await add_pupil(cast.other_school_id, "Oz", "Other", upn="O801200005009")
    await Contact.insert(
        Contact(pupil=ids["Ava"], name="Mary Pupil", relationship="Mother", phone="07700 900111", priority=1),
        Contact(pupil=ids["Ava"], name="Don Pupil", relationship="Father", phone="07700 900222", priority=2,
                no_contact=True),
        Contact(pupil=ids["Ava"], name="Gran Pupil", relationship="Grandmother", phone="07700 900333", priority=3,
                parental_responsibility=False))
    upn = {pid: (await Pupil.select(Pupil.upn).where(Pupil.id == pid).first())["upn"] for pid in ids.values()}
    day = DAY.isoformat()
    rows = [(ids["Ava"], "AM", "N"), (ids["Ben"], "AM", "/"), (ids["Cal"], "AM", "N"), (ids["Dee"], "AM", "L"),
            (ids["Eve"], "AM", "N"), (ids["Fay"], "AM", "/"), (ids["Fay"], "PM", "N")]
    await import_csv(cast.school_id, HEADER + "".join(f"{upn[p]},,{day},{s},{c},\r\n" for p, s, c in rows))
    await import_csv(cast.other_school_id, HEADER + f"{upn[ids['Oz']]},,{day},AM,N,\r\n")
    return ids


async def test_before_the_register_closes_the_list_waits(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:30")
    await school_day(cast)
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/attendance/first-day/")).text
    assert "The morning register closes at 09:00" in page and "Ava Pupil" not in page


async def test_after_close_the_list_has_those_absent_without_a_reason(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    await sign_in(client, settings, cast.teacher)
    frozen_clock.current = at("09:12")
    await tap(client, ids["Cal"])  # seen at the gate: here, whatever the MIS said at registration
    frozen_clock.current = at("09:30")
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/attendance/first-day/")).text
    assert "To call <span class=\"count\">(2)</span>" in page
    assert "Ava Pupil" in page and "Eve Pupil" in page
    for absent_not in ("Ben Pupil", "Cal Pupil", "Dee Pupil", "Fay Pupil", "Oz Other"):
        assert absent_not not in page
    # Contacts as the MIS allows: the father must not be contacted (no number, no call to log).
    assert "07700 900111" in page and "contact=" in page and "Log call to Mary Pupil" in page
    assert "Don Pupil" in page and "Not to be contacted" in page and "07700 900222" not in page
    assert "Log call to Don Pupil" not in page
    assert "No parental responsibility" in page
    assert f'href="/home-visits/new?pupil={ids["Ava"]}"' in page


async def test_a_call_logged_today_shows_on_the_list(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    frozen_clock.current = at("09:20")
    await sign_in(client, settings, cast.pastoral)
    mum = (await Contact.select(Contact.id).where(Contact.name == "Mary Pupil").first())["id"]
    from tests.conftest import csrf
    token = await csrf(client, "/attendance/first-day/")
    answer = await client.post("/contact-log/", data={
        "_csrf_token": token, "pupil_id": str(ids["Ava"]), "contact_id": str(mum), "method": "phone",
        "direction": "out", "outcome": "no_answer", "idempotency_key": "6f1c7a52-3f4e-4a5b-9c1d-2e3f4a5b6c7d"},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    assert await ContactLog.count() == 1
    page = (await client.get("/attendance/first-day/")).text
    assert "09:20 Mary Pupil (Mother) · No answer" in page


async def test_a_head_of_year_sees_their_years_and_others_nothing(client, settings, cast, frozen_clock):
    frozen_clock.current = at("09:30")
    await school_day(cast)
    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    page = (await client.get("/attendance/first-day/")).text
    assert "Ava Pupil" in page and "Eve Pupil" not in page
    for member in (cast.teacher, cast.responder, cast.guest, cast.admin, cast.outsider):
        await sign_in(client, settings, member)
        assert (await client.get("/attendance/first-day/")).status_code == 404


async def test_flagged_pupils_go_to_the_dsl_team_once(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    await Pupil.update({Pupil.safeguarding_marker: True}).where(Pupil.id == ids["Ava"])
    await Pupil.update({Pupil.speak_to_dsl: True}).where(Pupil.id.is_in([ids["Eve"], ids["Ben"]]))  # Ben is here
    await give_passkey(cast.dsl)
    assert await first_day.alert_dsl_if_due() == 0  # the register is still open
    frozen_clock.current = at("09:01")
    assert await first_day.alert_dsl_if_due() == 2
    frozen_clock.advance(minutes=30)
    assert await first_day.alert_dsl_if_due() == 0  # once per pupil and day
    alerts = await Alert.select(Alert.text, Alert.kind)
    assert len(alerts) == 2 and all(a["kind"] == "first_day.flagged" for a in alerts)
    assert all("Pupil" not in a["text"] and "Ava" not in a["text"] for a in alerts)  # nobody named
    assert await AlertRecipient.count() == 2
    assert [e["subject_id"] for e in await AuditEvent.select(AuditEvent.subject_id).where(
        AuditEvent.action == "first_day.dsl_alerted")] == [str(ids["Ava"]), str(ids["Eve"])]

    await sign_in(client, settings, cast.dsl)
    page = (await client.get("/attendance/first-day/")).text
    dsl_part, rest = page.split('id="list-heading"')
    assert "Ava Pupil" in dsl_part and "Eve Pupil" in dsl_part and "Ava Pupil" not in rest
    # To the pastoral team the marker is not shown: Ava is an ordinary row; Eve's "speak to the DSL" they may see.
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/attendance/first-day/")).text
    assert "For the DSL team" not in page and "Ava Pupil" in page
    assert page.count("Speak to the DSL before acting") == 1
