"""A record appears on the pupil's chronology for the DSL team and pastoral leads only."""

from __future__ import annotations

from tests.conftest import _member, add_pupil, sign_in
from tests.physical_intervention.kit import incident, record_id_of, start


async def test_it_is_on_the_chronology_of_a_pastoral_lead_not_a_pastoral_officer(client, settings, cast):
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy])
    record_id = record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))
    lead = await _member("lead@northbridge.example", "Lee Lead", cast.school_id, ["pastoral_lead"])
    await sign_in(client, settings, lead)
    page = await client.get(f"/chronology/pupil/{amy}")
    assert page.status_code == 200
    assert "Physical intervention in Science corridor" in page.text
    assert f"physical_intervention:{record_id}" in page.text or "Physical intervention" in page.text
    csv = await client.get(f"/chronology/pupil/{amy}/csv")
    assert "Physical intervention in Science corridor" in csv.text
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/chronology/pupil/{amy}")
    assert page.status_code == 200
    assert "Physical intervention" not in page.text
