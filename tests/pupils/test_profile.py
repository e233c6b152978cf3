"""The pupil profile: what each role sees, tap-to-call for those who may call, and every view audited."""

import io

import pytest
from PIL import Image

from app.domain.audit.tables import AuditEvent
from app.domain.pupils.service import prepare_photo
from app.domain.pupils.tables import Contact, Pupil
from tests.conftest import add_pupil, sign_in


@pytest.fixture
async def pupil(cast) -> int:
    pid = await add_pupil(
        cast.school_id, "Aoife", "Byrne", year="8", form="8C", preferred_first_name="Effie", house="Tudor",
        keyworker="Ms Rahman", sen_provision="K", sen_need="SPLD", medical_alert="Severe nut allergy",
        medical_action="Adrenaline pen in the medical room; call 999", attendance_percent=93.4, upn="B801200005001",
        tutor_name="Mr Evans")
    await Contact.insert(
        Contact(pupil=pid, name="Mary Byrne", relationship="Mother", phone="07700 900123", priority=1),
        Contact(pupil=pid, name="Sean Byrne", relationship="Father", phone="07700 900456", priority=2,
                no_contact=True),
        Contact(pupil=pid, name="Nora Byrne", relationship="Grandmother", phone="+44 7700 900789", priority=3,
                parental_responsibility=False),
    )
    return pid


async def test_a_responder_sees_contacts_in_priority_order_with_tap_to_call(client, settings, cast, pupil):
    await sign_in(client, settings, cast.responder)
    html = (await client.get(f"/pupils/{pupil}")).text
    assert "Effie Byrne" in html and "Year 8 · 8C · Tudor" in html
    assert html.index("Mary Byrne") < html.index("Sean Byrne") < html.index("Nora Byrne")
    assert 'href="tel:07700900123"' in html and 'href="sms:07700900123"' in html
    assert 'href="tel:+447700900789"' in html
    assert "No contact: do not call" in html and "tel:07700900456" not in html  # never a call link for "no contact"


async def test_plain_staff_see_care_flags_but_no_contacts(client, settings, cast, pupil):
    await sign_in(client, settings, cast.teacher)
    html = (await client.get(f"/pupils/{pupil}")).text
    assert "Severe nut allergy" in html and "Adrenaline pen in the medical room" in html
    assert "SEN support" in html and "Specific learning difficulty" in html
    assert "Ms Rahman" in html and "Mr Evans" in html
    assert "Mary Byrne" not in html and "tel:" not in html
    assert "Date of birth" not in html and "93.4" not in html


async def test_pastoral_staff_see_the_whole_pastoral_record(client, settings, cast, pupil):
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/pupils/{pupil}")).text
    assert "Legal name" in html and "Aoife Byrne" in html
    assert "04 Mar 2012" in html and "(age " in html
    assert "93.4%" in html and "Mary Byrne" in html
    assert 'id="timeline"' in html and "Nothing recorded yet." in html


async def test_a_guest_sees_name_photo_and_form_only(client, settings, cast, pupil):
    await sign_in(client, settings, cast.guest)
    html = (await client.get(f"/pupils/{pupil}")).text
    assert "Effie Byrne" in html and "8C" in html
    for hidden in ("Year 8", "nut allergy", "Mary Byrne", "SEN", "Date of birth"):
        assert hidden not in html


async def test_only_the_dsl_team_sees_the_safeguarding_marker(client, settings, cast, pupil):
    await Pupil.update({Pupil.safeguarding_marker: True, Pupil.speak_to_dsl: True}).where(Pupil.id == pupil)
    await sign_in(client, settings, cast.teacher)
    staff_view = (await client.get(f"/pupils/{pupil}")).text
    assert "Speak to the DSL before acting." in staff_view
    assert "child-protection" not in staff_view
    client.cookies.clear()
    await sign_in(client, settings, cast.dsl)
    dsl_view = (await client.get(f"/pupils/{pupil}")).text
    assert "this pupil has a child-protection record" in dsl_view


async def test_no_marker_means_no_message(client, settings, cast, pupil):
    await sign_in(client, settings, cast.teacher)
    assert "Speak to the DSL" not in (await client.get(f"/pupils/{pupil}")).text


async def test_every_profile_view_is_audited(client, settings, cast, pupil):
    await sign_in(client, settings, cast.teacher)
    await client.get(f"/pupils/{pupil}")
    await client.get(f"/pupils/{pupil}")
    views = await AuditEvent.select().where(AuditEvent.action == "pupil.viewed")
    assert len(views) == 2
    assert views[0]["actor"] == cast.teacher.id and views[0]["subject_id"] == str(pupil)
    assert views[0]["school"] == cast.school_id
    assert "Byrne" not in views[0]["subject_label"] + views[0]["detail"]


async def test_another_schools_pupil_is_not_found(client, settings, cast, pupil):
    await sign_in(client, settings, cast.outsider)
    assert (await client.get(f"/pupils/{pupil}")).status_code == 404
    assert (await client.get(f"/pupils/{pupil}/photo")).status_code == 404
    assert await AuditEvent.count().where(AuditEvent.action == "pupil.viewed") == 0


async def test_photos_are_served_to_staff_of_the_school_only(client, settings, cast, pupil):
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buf, "PNG")
    full, thumb = prepare_photo(buf.getvalue())
    await Pupil.update({Pupil.photo: full, Pupil.photo_thumb: thumb}).where(Pupil.id == pupil)
    await sign_in(client, settings, cast.guest)
    html = (await client.get(f"/pupils/{pupil}")).text
    assert f'src="/pupils/{pupil}/photo"' in html
    response = await client.get(f"/pupils/{pupil}/photo?size=thumb")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert "no-store" in response.headers["cache-control"]
    assert max(Image.open(io.BytesIO(response.content)).size) == 96


async def test_a_pupil_without_a_photo_gets_initials(client, settings, cast, pupil):
    await sign_in(client, settings, cast.teacher)
    html = (await client.get(f"/pupils/{pupil}")).text
    assert '<span class="photo initials" aria-hidden="true">EB</span>' in html
    assert (await client.get(f"/pupils/{pupil}/photo")).status_code == 404


def test_prepare_photo_refuses_what_is_not_an_image():
    from app.errors import BadRequest

    with pytest.raises(BadRequest):
        prepare_photo(b"%PDF-1.4 not a photo")
