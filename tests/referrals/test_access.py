"""Who sees referrals: pastoral and the DSL team every pupil's, a head of year their years' pupils; plain staff,
guests, admins without those roles and other schools find nothing (404, never 403). CSRF, no pupil data in URLs."""

from __future__ import annotations

import pytest

from app.domain.referrals.tables import Referral
from app.domain.schools.tables import Membership
from tests.conftest import sign_in
from tests.referrals.kit import CONSENT, key, make, pupil, service_id

pytestmark = pytest.mark.asyncio


async def lead_year_9(cast) -> None:
    await Membership.update({Membership.years: "9"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))


async def test_each_role_sees_what_it_may(client, settings, cast):
    await lead_year_9(cast)
    nine = await pupil(cast, year="9", first="Nina", last="Ninth")
    eleven = await pupil(cast, year="11", first="Eli", last="Eleventh")
    r9 = await make(settings, cast.pastoral, nine)
    r11 = await make(settings, cast.dsl, eleven)
    paths = lambda pid, rid: [f"/referrals/{rid}", f"/referrals/pupil/{pid}", f"/referrals/new?pupil={pid}"]

    for member in (cast.pastoral, cast.dsl):
        await sign_in(client, settings, member)
        for path in paths(nine, r9) + paths(eleven, r11):
            assert (await client.get(path)).status_code == 200, (member.name, path)
        listed = (await client.get("/referrals/")).text
        assert "Nina Ninth" in listed and "Eli Eleventh" in listed

    await sign_in(client, settings, cast.head_of_year)
    for path in paths(nine, r9):
        assert (await client.get(path)).status_code == 200, path
    for path in paths(eleven, r11):
        assert (await client.get(path)).status_code == 404, path
    listed = (await client.get("/referrals/")).text
    assert "Nina Ninth" in listed and "Eli Eleventh" not in listed

    for member in (cast.teacher, cast.guest, cast.admin, cast.responder, cast.outsider):
        await sign_in(client, settings, member)
        for path in ["/referrals/", "/referrals/chase"] + paths(nine, r9):
            response = await client.get(path)
            assert response.status_code == 404, (member.name, path)
            assert "Nina" not in response.text


async def test_the_profile_links_to_referrals_only_for_those_who_see_them(client, settings, cast):
    await lead_year_9(cast)
    eleven = await pupil(cast, year="11")
    for member, shown in ((cast.pastoral, True), (cast.dsl, True), (cast.head_of_year, False),
                          (cast.teacher, False), (cast.admin, False)):
        await sign_in(client, settings, member)
        page = await client.get(f"/pupils/{eleven}")
        assert page.status_code == 200
        assert ('id="referrals-link"' in page.text) is shown, member.name


async def test_another_schools_dsl_finds_nothing_and_cannot_refer_a_pupil_of_ours(client, settings, cast):
    from app.domain.audit.service import Origin
    from app.domain.schools import service as schools
    from tests.conftest import Member

    pid = await pupil(cast)
    rid = await make(settings, cast.pastoral, pid)
    email = "dsl@elsewhere.example"
    other = await schools.add_person(email=email, display_name="Ola Other", school_id=cast.other_school_id,
                                     roles=["staff", "dsl"], actor=None, origin=Origin(ip="test"))
    member = Member(other, email, "Ola Other", cast.other_school_id)
    await sign_in(client, settings, member)
    for path in (f"/referrals/{rid}", f"/referrals/pupil/{pid}", f"/referrals/new?pupil={pid}"):
        assert (await client.get(path)).status_code == 404, path
    page = await client.get("/referrals/")
    assert page.status_code == 200 and "Able" not in page.text
    from tests.conftest import csrf
    token = await csrf(client, "/referrals/")
    response = await client.post(f"/referrals/{rid}/move", data={"_csrf_token": token, "from_state": "draft",
                                                                 "to_state": "sent", "note": "x"})
    assert response.status_code == 404
    response = await client.post("/referrals/", data={
        "_csrf_token": token, "pupil_id": str(pid), "service_id": str(await service_id(cast.school_id)),
        "reason": "Not ours", "idempotency_key": key(), **CONSENT})
    assert response.status_code == 400 and await Referral.count() == 1


async def test_a_form_without_its_csrf_token_is_refused(client, settings, cast):
    pid = await pupil(cast)
    rid = await make(settings, cast.pastoral, pid)
    await sign_in(client, settings, cast.pastoral)
    await client.get("/referrals/")
    response = await client.post(f"/referrals/{rid}/move", data={"from_state": "draft", "to_state": "sent",
                                                                 "note": "x"})
    assert response.status_code == 403
    response = await client.post("/referrals/", data={"pupil_id": str(pid), "reason": "x"})
    assert response.status_code == 403
    assert await Referral.count() == 1
    assert (await Referral.select(Referral.state).first())["state"] == "draft"


async def test_no_pupil_data_rides_in_a_referral_url(client, settings, cast):
    pid = await pupil(cast, first="Urlina", last="Pathwise")
    await sign_in(client, settings, cast.pastoral)
    from tests.conftest import csrf
    token = await csrf(client, "/referrals/")
    response = await client.post("/referrals/", data={
        "_csrf_token": token, "pupil_id": str(pid), "service_id": str(await service_id(cast.school_id)),
        "reason": "Urlina said she is not sleeping", "idempotency_key": key(), **CONSENT})
    assert response.status_code == 200
    for hop in [*response.history, response]:
        assert "Urlina" not in str(hop.url) and "Pathwise" not in str(hop.url)
        assert "Urlina" not in hop.headers.get("location", "")
    assert str(response.url).rsplit("/", 1)[1].isdigit()
