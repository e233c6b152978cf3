"""When a safeguarding record needs a fresh passkey check, the "Confirm it's you" page offers the check there and
then, and afterwards sends the DSL on to the record they asked for: a path on this site only, never elsewhere."""

import re

import pytest

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.concerns.tables import Concern, ConcernEntry
from tests.conftest import add_pupil, enrol, post_form, post_json, sign_in

FACTS = {"seen_or_said": "Bruise on left wrist", "childs_words": "Dad gets angry"}


@pytest.fixture
async def concern(settings, cast) -> int:
    from app.domain.concerns import service as concerns

    ava = await add_pupil(cast.school_id, "Ava", "Okafor")
    token = await accounts._create_session(settings, cast.teacher.id, cast.teacher.email, Origin(ip="test"), "pytest")
    teacher = await accounts.load_actor(settings, token, Origin(ip="test"))
    await concerns.record_concern(teacher, {"pupil_id": str(ava), **FACTS})
    return (await Concern.select(Concern.id).first())["id"]


async def test_it_offers_the_check_on_the_page_and_goes_on_to_the_concern(client, settings, cast, concern,
                                                                         authenticator, frozen_clock):
    link = await accounts.issue_enrolment(settings, cast.dsl.id, by=None, origin=Origin())
    assert (await enrol(client, authenticator, link)).status_code == 200
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)

    page = await client.get(f"/concerns/{concern}")
    assert page.status_code == 403 and "Confirm it's you" in page.text
    assert 'data-passkey="step-up"' in page.text and 'action="/concerns/continue"' in page.text
    assert f'name="to" value="/concerns/{concern}"' in page.text
    assert "Dad gets angry" not in page.text and "Okafor" not in page.text

    # What the page's button does (static/js/passkeys.js): the step-up ceremony, then the form.
    options = (await post_json(client, "/account/verify/options", page="/account")).json()
    verified = await post_json(client, "/account/verify", {
        "key": options["key"], "credential": authenticator.get(options["publicKey"])}, page="/account")
    assert verified.status_code == 200
    onward = await client.get("/concerns/continue", params={"to": f"/concerns/{concern}"}, follow_redirects=False)
    assert onward.status_code == 303 and onward.headers["location"] == f"/concerns/{concern}"
    record = await client.get(onward.headers["location"])
    assert record.status_code == 200 and "Dad gets angry" in record.text


async def test_the_chronology_and_the_list_return_to_themselves(client, settings, cast, concern, frozen_clock):
    await sign_in(client, settings, cast.dsl)
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    pupil = (await Concern.select(Concern.pupil).first())["pupil"]
    chronology = await client.get(f"/concerns/chronology/{pupil}")
    assert chronology.status_code == 403 and f'name="to" value="/concerns/chronology/{pupil}"' in chronology.text
    inbox = await client.get("/concerns/")
    assert inbox.status_code == 403 and re.search(r'name="to" value="/concerns/?"', inbox.text)


async def test_an_entry_sent_after_the_check_lapsed_is_not_saved_and_returns_to_its_concern(client, settings, cast,
                                                                                          concern, frozen_clock):
    await sign_in(client, settings, cast.dsl)
    page = f"/concerns/{concern}"
    token_page = await client.get(page)
    assert token_page.status_code == 200
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    response = await post_form(client, f"{page}/entries", {"kind": "action", "body": "Rang social care"}, page="/")
    assert response.status_code == 403 and f'name="to" value="{page}"' in response.text
    assert await ConcernEntry.count() == 0


@pytest.mark.parametrize("to", [
    "https://evil.example/concerns/1", "//evil.example/concerns/1", "/\\evil.example", "\\\\evil.example",
    "http:/evil.example", "javascript:alert(1)", "/concerns/1?name=Ava+Okafor", "/concerns/1#x", "concerns/1",
    "/concerns/\nSet-Cookie: x=1", "", "/" + "a" * 300,
])
async def test_it_never_sends_anyone_to_another_site(client, settings, cast, to):
    await sign_in(client, settings, cast.dsl)
    response = await client.get("/concerns/continue", params={"to": to}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_a_signed_out_visitor_is_sent_to_sign_in_not_onward(client):
    response = await client.get("/concerns/continue", params={"to": "/concerns/1"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


async def test_staff_with_a_lapsed_check_still_find_nothing(client, settings, cast, concern, frozen_clock):
    for member in (cast.teacher, cast.admin, cast.pastoral, cast.outsider):
        client.cookies.clear()
        await sign_in(client, settings, member)
        frozen_clock.advance(minutes=settings.step_up_minutes + 1)
        response = await client.get(f"/concerns/{concern}")
        assert response.status_code == 404 and "Confirm it's you" not in response.text, member.email
