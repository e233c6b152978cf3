"""One chronology per pupil: every source merged oldest first, each entry with its date, source, event, action,
outcome and who recorded it; other pupils named in an entry are listed (for the pack's redaction)."""

from __future__ import annotations

import datetime as dt

from app.domain.chronology import service as chronology
from tests.chronology.kit import actor_for, at, contact, everything, incident
from tests.conftest import sign_in


async def test_it_merges_every_source_oldest_first_for_the_dsl(settings, cast):
    ids = await everything(cast)
    rows = await chronology.entries(await actor_for(settings, cast.dsl), ids["pupil"])
    assert [e.source for e in rows] == ["incident", "contact", "referral", "referral", "intervention", "intervention",
                                        "case", "case", "oncall", "concern", "dsl_action"]
    assert [e.at for e in rows] == sorted(e.at for e in rows)
    fight = rows[0]
    assert fight.ref == f"incident:{ids['incident']}" and "Fighting (instigator)" in fight.event
    assert fight.action == "Phone call home: Spoke to Mum" and fight.outcome == "Open"
    assert fight.recorded_by == "Tara Teacher" and fight.detail == "Pushed in the lunch queue"
    assert fight.others_named == ((ids["other"], "Sam Other"),)
    assert rows[1].event == "Phone call to Mrs Brook (Mother)" and rows[1].outcome == "Spoke to them"
    assert rows[3].event == "Referral to CAMHS: sent" and rows[3].action == "Emailed the form"
    assert rows[4].event.startswith("Joined group intervention") and rows[5].outcome == "Score 4"
    assert rows[7].outcome == "1 of 1 target met"
    assert rows[8].others_named == ((ids["other"], "Sam Other"),) and rows[8].outcome == "Removed to the pastoral base"
    assert rows[9].action == "None recorded when the concern was logged"  # "action taken, or why none"
    assert rows[10].action == "Called social care" and rows[10].recorded_by == "Dee Lead"


async def test_it_keeps_each_pupils_entries_to_themselves(settings, cast):
    ids = await everything(cast)
    rows = await chronology.entries(await actor_for(settings, cast.pastoral), ids["other"])
    # The second pupil was the target in the incident and named on the on-call: only those.
    assert [e.source for e in rows] == ["incident", "oncall"]
    assert "(target)" in rows[0].event and rows[0].others_named[0][1] == "Mia Brook"


async def test_a_deleted_incident_and_another_schools_records_are_left_out(settings, cast):
    ids = await everything(cast)
    from app.domain.incidents.tables import Incident

    await Incident.update({Incident.deleted_at: at(20)}).where(Incident.id == ids["incident"])
    rows = await chronology.entries(await actor_for(settings, cast.pastoral), ids["pupil"])
    assert "incident" not in {e.source for e in rows}


async def test_the_page_shows_each_entry_with_its_columns(client, settings, cast):
    ids = await everything(cast)
    await incident(cast.school_id, cast.teacher.id, at(14, 15), [(ids["pupil"], "instigator")], category="Lateness",
                   note="")
    await contact(cast.school_id, ids["pupil"], cast.pastoral.id, at(15, 9), summary="Dad rang back",
                  follow_up_on=dt.date(2026, 11, 20))
    await sign_in(client, settings, cast.pastoral)
    response = await client.get(f"/chronology/pupil/{ids['pupil']}")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    html = response.text
    assert "Chronology: Mia Brook" in html and "11 entries" in html
    # Oldest first, in UK time, each with action, outcome and who recorded it.
    assert html.index("02 Nov 2026 10:00") < html.index("03 Nov 2026 10:00") < html.index("15 Nov 2026 09:00")
    assert "Phone call home: Spoke to Mum" in html and "Spoke to them" in html and "Pat Pastoral" in html
    assert "Dad rang back" in html and "No follow-up action recorded yet" in html and "Follow up by 20 Nov 2026" in html


async def test_reward_points_are_not_in_the_chronology(settings, cast):
    from app.domain.incidents.tables import Category, Incident, IncidentPupil

    ids = await everything(cast)
    kind = Category(school=cast.school_id, kind="positive", name="Kindness", points=1)
    await kind.save()
    reward = Incident(school=cast.school_id, occurred_at=at(20), recorded_by=cast.teacher.id, recorded_at=at(20))
    await reward.save()
    await IncidentPupil.insert(IncidentPupil(incident=reward.id, pupil=ids["pupil"], role="involved", category=kind.id,
                                             points=1, status="resolved", updated_at=at(20)))
    rows = await chronology.entries(await actor_for(settings, cast.pastoral), ids["pupil"])
    assert "Kindness" not in " ".join(e.event for e in rows) and len(rows) == 9


async def test_a_home_visits_steps_are_in_the_chronology_and_can_be_marked(cast, settings, frozen_clock):
    from app.domain.home_visits import service as visits
    from tests.home_visits.kit import started, world

    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    pastoral = w.actors["pastoral"]
    rows = [e for e in await chronology.entries(pastoral, w.pupil, audit=False) if e.source == "home_visit"]
    assert [e.event for e in rows][:2] == ["Home visit planned", "Home visit: pre-visit checklist completed"]
    assert rows[0].recorded_by == "Pat Pastoral" and rows[0].ref.startswith(f"visit:{vid}:")
    await chronology.set_significant(pastoral, w.pupil, rows[0].ref, True)
    marked = await chronology.entries(pastoral, w.pupil, significant_only=True, audit=False)
    assert [e.ref for e in marked] == [rows[0].ref]
    assert len(await visits.chronology_rows(cast.school_id, w.pupil)) == len(rows)
