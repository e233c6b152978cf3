"""A person's passkeys: add a second, name them, list them, remove one after a fresh verification."""

from app.domain.accounts import service as accounts
from app.domain.accounts.tables import Passkey
from app.domain.audit.service import Origin
from tests.conftest import audit_actions, enrol, post_form, post_json
from tests.softauthn import SoftAuthenticator


async def enrolled_with_two(client, settings, member, authenticator):
    link = await accounts.issue_enrolment(settings, member.id, by=None, origin=Origin())
    assert (await enrol(client, authenticator, link, name="Work phone")).status_code == 200
    spare = SoftAuthenticator(origin=authenticator.origin)
    options = (await post_json(client, "/account/passkeys/options", page="/account")).json()
    response = await post_json(client, "/account/passkeys", {
        "key": options["key"], "credential": spare.create(options["publicKey"]), "name": "Spare phone"}, page="/account")
    assert response.status_code == 200, response.text
    return spare


async def test_it_adds_and_lists_a_second_passkey(client, settings, cast, authenticator):
    await enrolled_with_two(client, settings, cast.teacher, authenticator)
    page = await client.get("/account")
    assert 'value="Work phone"' in page.text and 'value="Spare phone"' in page.text
    assert "passkey.added" in await audit_actions()


async def test_registration_options_exclude_existing_passkeys(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    await enrol(client, authenticator, link)
    options = (await post_json(client, "/account/passkeys/options", page="/account")).json()["publicKey"]
    assert len(options["excludeCredentials"]) == 1
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"


async def test_it_renames_a_passkey(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    await enrol(client, authenticator, link)
    pk = await Passkey.select(Passkey.id).first()
    response = await post_form(client, f"/account/passkeys/{pk['id']}/name", {"name": "  Old   iPhone "}, page="/account")
    assert response.status_code == 200 and "Passkey renamed." in response.text
    assert (await Passkey.select(Passkey.name).first())["name"] == "Old iPhone"
    blank = await post_form(client, f"/account/passkeys/{pk['id']}/name", {"name": "   "}, page="/account")
    assert blank.status_code == 400 and (await Passkey.select(Passkey.name).first())["name"] == "Old iPhone"


async def test_removing_a_passkey_needs_a_fresh_verification(client, settings, cast, authenticator, frozen_clock):
    await enrolled_with_two(client, settings, cast.teacher, authenticator)
    work = await Passkey.select(Passkey.id).where(Passkey.name == "Work phone").first()
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)

    refused = await post_form(client, f"/account/passkeys/{work['id']}/remove", page="/account")
    assert refused.status_code == 403 and "fresh check" in refused.text
    assert await Passkey.count() == 2

    options = (await post_json(client, "/account/verify/options", page="/account")).json()
    assert len(options["publicKey"]["allowCredentials"]) == 2  # limited to this person's own passkeys
    verified = await post_json(client, "/account/verify", {
        "key": options["key"], "credential": authenticator.get(options["publicKey"])}, page="/account")
    assert verified.status_code == 200

    removed = await post_form(client, f"/account/passkeys/{work['id']}/remove", page="/account")
    assert removed.status_code == 200 and "Passkey removed." in removed.text
    assert [p["name"] for p in await Passkey.select(Passkey.name)] == ["Spare phone"]
    assert "passkey.removed" in await audit_actions()


async def test_step_up_with_someone_elses_passkey_is_refused(client, settings, cast, authenticator):
    from app.main import create_app
    from tests.conftest import http_client

    other_key = SoftAuthenticator(origin=authenticator.origin)
    async with http_client(create_app(settings), "http://localhost:8000") as other:
        link = await accounts.issue_enrolment(settings, cast.dsl.id, by=None, origin=Origin())
        await enrol(other, other_key, link)
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    await enrol(client, authenticator, link)

    options = (await post_json(client, "/account/verify/options", page="/account")).json()
    response = await post_json(client, "/account/verify", {
        "key": options["key"], "credential": other_key.get(options["publicKey"])}, page="/account")
    assert response.status_code == 400


async def test_the_last_passkey_cannot_be_removed(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    await enrol(client, authenticator, link)
    pk = await Passkey.select(Passkey.id).first()
    response = await post_form(client, f"/account/passkeys/{pk['id']}/remove", page="/account")
    assert response.status_code == 400 and "only passkey" in response.text
    assert await Passkey.count() == 1


async def test_nobody_can_touch_another_persons_passkey(client, settings, cast, authenticator):
    from app.main import create_app
    from tests.conftest import http_client

    async with http_client(create_app(settings), "http://localhost:8000") as other:
        link = await accounts.issue_enrolment(settings, cast.dsl.id, by=None, origin=Origin())
        await enrol(other, SoftAuthenticator(origin=authenticator.origin), link)
    dsl_key = await Passkey.select(Passkey.id).first()
    await enrolled_with_two(client, settings, cast.teacher, authenticator)

    rename = await post_form(client, f"/account/passkeys/{dsl_key['id']}/name", {"name": "mine"}, page="/account")
    remove = await post_form(client, f"/account/passkeys/{dsl_key['id']}/remove", page="/account")

    assert rename.status_code == 404 and remove.status_code == 404
    assert await Passkey.count().where(Passkey.person == cast.dsl.id) == 1
