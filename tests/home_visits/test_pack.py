"""The visit pack over HTTP: only the staff going, only from authorisation until the visit is over, no-store,
every fetch audited; everyone else, and another school, 404."""

from __future__ import annotations

import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.home_visits import service as visits
from app.domain.pupils.tables import Contact, Pupil
from tests.conftest import sign_in
from tests.home_visits.kit import CHECKLIST, _member, authorised, plan, world

JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes\xff\xd9"


async def _pack_views(vid: int) -> int:
    return await AuditEvent.count().where((AuditEvent.action == "home_visit.pack_viewed")
                                          & (AuditEvent.subject_id == str(vid)))


async def test_it_gives_the_staff_going_the_pack_of_an_authorised_visit(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    await Pupil.update({Pupil.photo: JPEG}).where(Pupil.id == w.pupil)
    await Contact.insert(
        Contact(pupil=w.pupil, name="Ann Able", relationship="Mother", phone="07700 900333", priority=1),
        Contact(pupil=w.pupil, name="Carl Able", relationship="Father", phone="07700 900444", priority=2,
                parental_responsibility=False, no_contact=True))
    vid = await authorised(w, pack_notes="Ring the side door; Ada's mum works nights")
    await sign_in(client, settings, cast.pastoral)
    answer = await client.get(f"/home-visits/{vid}/pack")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    pack = answer.json()
    assert pack["address"] == "12 Mill Lane, Northbridge NB1 2AB"
    assert pack["notes"] == "Ring the side door; Ada's mum works nights"
    assert pack["day"] == "2026-12-08" and pack["person"] == str(cast.pastoral.id) and pack["state"] == "authorised"
    assert pack["adults_dogs"] == CHECKLIST["check_adults_dogs"]
    assert [s["phone"] for s in pack["staff"]] == ["07700900111", "07700900222"]
    ada = pack["pupils"][0]
    assert ada["name"] == "Ada Able" and ada["photo"].startswith("data:image/jpeg;base64,")
    assert [(c["name"], c["no_contact"]) for c in ada["contacts"]] == [("Ann Able", False), ("Carl Able", True)]
    assert ada["contacts"][1]["phone"] == ""  # a no-contact adult's number is not carried to the doorstep
    assert await _pack_views(vid) == 1
    await sign_in(client, settings, w.pastoral2)  # the second person going gets it too
    assert (await client.get(f"/home-visits/{vid}/pack")).status_code == 200
    assert await _pack_views(vid) == 2


async def test_it_has_no_pack_before_authorisation_or_once_the_visit_is_over(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    planned = await plan(w)
    await visits.complete_checklist(w.actors["pastoral"], planned, CHECKLIST)
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get(f"/home-visits/{planned}/pack")).status_code == 404  # checked, not authorised
    vid = await authorised(w)
    await visits.start(w.actors["pastoral"], vid, key=str(uuid.uuid4()), digest="s")
    assert (await client.get(f"/home-visits/{vid}/pack")).json()["state"] == "under_way"
    await visits.arrive(w.actors["pastoral"], vid, key=str(uuid.uuid4()), digest="a")
    assert (await client.get(f"/home-visits/{vid}/pack")).status_code == 200
    await visits.finish_safe(w.actors["pastoral"], vid, key=str(uuid.uuid4()), digest="f")
    assert (await client.get(f"/home-visits/{vid}/pack")).status_code == 404  # checked out: gone
    cancelled = await authorised(w)
    await visits.cancel(w.actors["lead"], cancelled, "Family moved")
    assert (await client.get(f"/home-visits/{cancelled}/pack")).status_code == 404
    assert await _pack_views(planned) == 0


async def test_it_answers_404_to_anyone_not_going_and_to_another_school(client, settings, cast, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await authorised(w)
    # The lead who authorised it, the DSL, the buddy (a responder), the head of year: they see the visit, not the pack.
    for member in (w.lead, cast.dsl, cast.responder, cast.head_of_year, cast.teacher, cast.admin, cast.guest,
                   cast.outsider):
        await sign_in(client, settings, member)
        answer = await client.get(f"/home-visits/{vid}/pack", follow_redirects=False)
        assert answer.status_code == 404, member.email  # a guest on a valid pass included
        assert "Mill Lane" not in answer.text
    elsewhere = await _member("pastoral@elsewhere.example", "Else Where", cast.other_school_id, ["staff", "pastoral"])
    await sign_in(client, settings, elsewhere)  # pastoral at another school: the same role, not their visit
    assert (await client.get(f"/home-visits/{vid}/pack")).status_code == 404
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get("/home-visits/999999/pack")).status_code == 404
    assert await _pack_views(vid) == 0


async def test_the_offline_visit_page_holds_no_visit(client):
    page = await client.get("/home-visits/offline")
    assert page.status_code == 200 and "visit-offline.js" in page.text and "Mill Lane" not in page.text
