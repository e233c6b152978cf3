"""A CSRF token is bound to the session it was issued to: another session's cookie and token are refused."""

from app.domain.schools.tables import Person
from app.main import create_app
from tests.conftest import csrf, http_client, sign_in


async def invite(client, token: str, email: str):
    return await client.post("/admin/people", data={"_csrf_token": token, "display_name": "Mallory",
                                                    "email": email, "roles": "admin"}, follow_redirects=False)


async def test_it_refuses_a_token_and_cookie_taken_from_another_session(client, settings, cast):
    async with http_client(create_app(settings)) as attacker:
        await sign_in(attacker, settings, cast.teacher)
        stolen_token = await csrf(attacker, "/")
        stolen_cookie = attacker.cookies.get(settings.csrf_cookie)
    await sign_in(client, settings, cast.admin)
    client.cookies.set(settings.csrf_cookie, stolen_cookie)
    response = await invite(client, stolen_token, "mallory@northbridge.example")
    assert response.status_code == 403
    assert not await Person.exists().where(Person.email == "mallory@northbridge.example")


async def test_it_refuses_a_token_from_before_sign_in(client, settings, cast):
    anonymous_token = await csrf(client, "/signin")
    await sign_in(client, settings, cast.admin)
    response = await invite(client, anonymous_token, "mallory@northbridge.example")
    assert response.status_code == 403
    assert not await Person.exists().where(Person.email == "mallory@northbridge.example")


async def test_a_page_loaded_in_the_session_gets_a_token_that_works(client, settings, cast):
    await csrf(client, "/signin")  # an old cookie from before sign-in is replaced, not kept
    await sign_in(client, settings, cast.admin)
    token = await csrf(client, "/admin/people")
    response = await invite(client, token, "nina@northbridge.example")
    assert response.status_code == 200
    assert await Person.exists().where(Person.email == "nina@northbridge.example")
    # And the same token keeps working for the rest of the session.
    assert (await invite(client, token, "omar@northbridge.example")).status_code == 200
