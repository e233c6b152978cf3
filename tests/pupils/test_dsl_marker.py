"""The DSL sets and clears a pupil's child-protection marker and "speak to the DSL before acting" note from the
profile; each change is audited; nobody else can, and for them the route does not exist."""

import json

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.pupils.tables import Pupil
from tests.conftest import _member, add_pupil, post_form, sign_in


@pytest.fixture
async def ava(cast) -> int:
    return await add_pupil(cast.school_id, "Ava", "Okafor", year="9", form="9A")


async def flags(pupil_id: int) -> dict:
    return await Pupil.select(Pupil.safeguarding_marker, Pupil.speak_to_dsl).where(Pupil.id == pupil_id).first()


async def test_it_lets_the_dsl_set_and_clear_both_and_audits_each_change(client, settings, cast, ava):
    await sign_in(client, settings, cast.dsl)
    profile = await client.get(f"/pupils/{ava}")
    assert f'action="/pupils/{ava}/safeguarding"' in profile.text

    saved = await post_form(client, f"/pupils/{ava}/safeguarding",
                            {"safeguarding_marker": "yes", "speak_to_dsl": "yes"}, page=f"/pupils/{ava}")
    assert saved.status_code == 200 and "this pupil has a child-protection record" in saved.text
    assert await flags(ava) == {"safeguarding_marker": True, "speak_to_dsl": True}

    await post_form(client, f"/pupils/{ava}/safeguarding", {"speak_to_dsl": "yes"}, page=f"/pupils/{ava}")
    assert await flags(ava) == {"safeguarding_marker": False, "speak_to_dsl": True}

    events = await AuditEvent.select(AuditEvent.actor, AuditEvent.subject_id, AuditEvent.detail).where(
        AuditEvent.action == "pupil.marker_changed").order_by(AuditEvent.id)
    assert [(e["actor"], e["subject_id"]) for e in events] == [(cast.dsl.id, str(ava))] * 2
    assert json.loads(events[1]["detail"]) == {"safeguarding_marker": {"from": True, "to": False}}

    # Staff see the note (never why); the marker stays the DSL team's.
    client.cookies.clear()
    await sign_in(client, settings, cast.teacher)
    seen = await client.get(f"/pupils/{ava}")
    assert "Speak to the DSL before acting." in seen.text and "safeguarding-flags" not in seen.text


async def test_saving_without_a_change_writes_nothing(client, settings, cast, ava):
    await sign_in(client, settings, cast.dsl)
    await post_form(client, f"/pupils/{ava}/safeguarding", {}, page=f"/pupils/{ava}")
    assert await AuditEvent.count().where(AuditEvent.action == "pupil.marker_changed") == 0


@pytest.mark.parametrize("member", ["teacher", "guest", "responder", "pastoral", "head_of_year", "admin"])
async def test_nobody_else_at_the_school_can_and_the_route_is_not_found(client, settings, cast, ava, member):
    await sign_in(client, settings, getattr(cast, member))
    response = await post_form(client, f"/pupils/{ava}/safeguarding",
                               {"safeguarding_marker": "yes", "speak_to_dsl": "yes"}, page="/")
    assert response.status_code == 404
    assert await flags(ava) == {"safeguarding_marker": False, "speak_to_dsl": False}
    profile = await client.get(f"/pupils/{ava}")
    assert "safeguarding-flags" not in profile.text


async def test_another_schools_dsl_finds_nothing(client, settings, cast, ava):
    other_dsl = await _member("dsl@elsewhere.example", "Other Lead", cast.other_school_id, ["staff", "dsl"])
    await sign_in(client, settings, other_dsl)
    response = await post_form(client, f"/pupils/{ava}/safeguarding", {"safeguarding_marker": "yes"}, page="/")
    assert response.status_code == 404 and "Okafor" not in response.text
    assert await flags(ava) == {"safeguarding_marker": False, "speak_to_dsl": False}


@pytest.mark.parametrize("fields", [{"safeguarding_marker": "true"}, {"speak_to_dsl": "on; DROP TABLE pupil"},
                                    {"safeguarding_marker": "yes", "speak_to_dsl": "1"}])
async def test_bad_input_changes_nothing(client, settings, cast, ava, fields):
    await sign_in(client, settings, cast.dsl)
    response = await post_form(client, f"/pupils/{ava}/safeguarding", fields, page=f"/pupils/{ava}")
    assert response.status_code == 400 and "Tick or untick the boxes" in response.text
    assert await flags(ava) == {"safeguarding_marker": False, "speak_to_dsl": False}
    assert await AuditEvent.count().where(AuditEvent.action == "pupil.marker_changed") == 0


async def test_a_pupil_that_does_not_exist_is_not_found(client, settings, cast, ava):
    await sign_in(client, settings, cast.dsl)
    response = await post_form(client, f"/pupils/{ava + 1000}/safeguarding", {"speak_to_dsl": "yes"}, page="/")
    assert response.status_code == 404
