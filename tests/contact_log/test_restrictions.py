"""The MIS's contact restrictions: a 'no contact' contact is never offered for logging and is clearly marked, a
form naming one by hand is refused, and a contact without parental responsibility is marked."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.contact_log.kit import family, form, logs, post, text_of

pytestmark = pytest.mark.asyncio


async def test_a_no_contact_contact_is_marked_and_not_offered(client, settings, cast):
    f = await family(cast)
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/contact-log/new?pupil={f['pupil']}")).text
    assert f'value="{f["mother"]}"' in html and f'value="{f["grandmother"]}"' in html
    assert f'value="{f["father"]}"' not in html  # not a choice
    assert "Dan Able (Father): no contact. Do not contact them" in text_of(html)
    # Even asked for by the link, it is not chosen.
    html = (await client.get(f"/contact-log/new?pupil={f['pupil']}&contact={f['father']}&method=phone")).text
    assert f'value="{f["father"]}"' not in html and "checked" not in html.split('id="who"')[1].split("</fieldset>")[0]

    profile = (await client.get(f"/pupils/{f['pupil']}")).text
    assert f'data-call-contact="{f["father"]}"' not in profile
    assert f"contact={f['father']}" not in profile
    assert f'data-call-contact="{f["mother"]}"' in profile and f"contact={f['mother']}&amp;method=phone" in profile


async def test_a_no_contact_contact_posted_by_hand_is_refused(client, settings, cast):
    f = await family(cast)
    response = await post(client, settings, cast.dsl, form(f, contact_id=str(f["father"])))
    assert response.status_code == 400
    assert "marked 'no contact' in the MIS" in text_of(response.text)
    assert await logs(f["pupil"]) == []


async def test_another_pupils_contact_is_refused(client, settings, cast):
    f = await family(cast)
    other = await family(cast, first="Ben", last="Bold")
    response = await post(client, settings, cast.pastoral, form(f, contact_id=str(other["mother"])))
    assert response.status_code == 400 and 'id="contact_id-error"' in response.text
    assert await logs(f["pupil"]) == []


async def test_a_contact_without_parental_responsibility_is_marked(client, settings, cast):
    f = await family(cast)
    await sign_in(client, settings, cast.pastoral)
    page = text_of((await client.get(f"/contact-log/new?pupil={f['pupil']}")).text)
    assert "Grace Able (Grandmother) · no parental responsibility: do not share information about Ada Able" in page
    assert "Mary Able (Mother) · no parental responsibility" not in page


async def test_the_only_contact_who_may_be_contacted_is_chosen_already(client, settings, cast):
    f = await family(cast)
    from app.domain.pupils.tables import Contact
    await Contact.delete().where(Contact.id == f["grandmother"])
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/contact-log/new?pupil={f['pupil']}")).text
    assert f'value="{f["mother"]}" checked' in html
