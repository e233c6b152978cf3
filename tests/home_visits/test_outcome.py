"""The doorstep outcome (issue 14, point 6): one of the eight outcomes, who was present, whether a note was left,
notes; by someone who went, once (a double submission makes one record). A refusal says what is wrong by each
field and keeps what was typed. "Not seen" alerts the DSL team for a follow-up today and lists the visit on their
board. The outcome goes on the pupil's chronology."""

from __future__ import annotations

import datetime as dt

from app.domain.audit.tables import AuditEvent
from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisitEvent
from app.domain.notifications.tables import Notification
from tests.conftest import sign_in
from tests.home_visits.kit import _member, row, started, world
from tests.home_visits.test_pages import post, text_of

NOT_SEEN_TEXT = "Home visit: the child was not seen. Follow up today."


async def texts(person_id: int) -> list[str]:
    return [n["text"] for n in await Notification.select(Notification.text).where(
        Notification.person == person_id).order_by(Notification.id)]


async def setup(client, cast, settings, frozen_clock, finish: bool = True):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    frozen_clock.current += dt.timedelta(minutes=30)
    await sign_in(client, settings, cast.pastoral)
    if finish:
        await post(client, f"/home-visits/{vid}/safe", {"idempotency_key": f"safe-{vid}"}, f"/home-visits/{vid}")
    return w, vid


async def test_an_outcome_is_recorded_once_and_goes_on_the_chronology(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    page = text_of((await client.get(f"/home-visits/{vid}")).text)
    assert "At the door" in page and "Seen and spoken to alone" in page and "Suspected moved" in page
    data = {"outcome": "seen_alone", "outcome_present": "Ada and her mum", "outcome_note_left": "no",
            "outcome_notes": "Ada says she has had flu; back on Monday.", "idempotency_key": "o-1"}
    first = await post(client, f"/home-visits/{vid}/outcome", data, f"/home-visits/{vid}")
    again = await post(client, f"/home-visits/{vid}/outcome", data, f"/home-visits/{vid}")
    assert first.status_code == again.status_code == 303
    v = await row(vid)
    assert (v["outcome"], v["outcome_present"], v["outcome_note_left"]) == ("seen_alone", "Ada and her mum", False)
    assert await HomeVisitEvent.count().where((HomeVisitEvent.visit == vid) & (HomeVisitEvent.kind == "outcome")) == 1
    assert await AuditEvent.count().where((AuditEvent.action == "home_visit.outcome_recorded")
                                          & (AuditEvent.subject_id == str(vid))) == 1
    page = text_of((await client.get(f"/home-visits/{vid}")).text)
    assert "Seen and spoken to alone. Present: Ada and her mum. No note left." in page
    assert "Save the outcome" not in page
    other = await post(client, f"/home-visits/{vid}/outcome", {**data, "idempotency_key": "o-2",
                                                               "outcome": "refused"}, f"/home-visits/{vid}")
    assert other.status_code == 409 and "already been recorded" in other.text
    assert (await row(vid))["outcome"] == "seen_alone"
    assert NOT_SEEN_TEXT not in await texts(cast.dsl.id)  # seen: no task for the DSL team
    rows = await visits.chronology_rows(cast.school_id, w.pupil)
    outcome = [r for r in rows if r["event"].startswith("Home visit outcome")]
    assert outcome and outcome[0]["event"] == "Home visit outcome: Seen and spoken to alone"
    assert outcome[0]["detail"] == "Present: Ada and her mum. No note left. Ada says she has had flu; back on Monday."
    assert outcome[0]["recorded_by"].startswith("Pat Pastoral")


async def test_a_refused_outcome_says_why_by_each_field_and_keeps_what_was_typed(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    refused = await post(client, f"/home-visits/{vid}/outcome", {"outcome": "", "outcome_present": "Mum only",
                                                                 "outcome_notes": "Curtains drawn at noon",
                                                                 "idempotency_key": "o-3"}, f"/home-visits/{vid}")
    assert refused.status_code == 400
    assert "Choose what happened at the door." in refused.text and "Say whether you left a note." in refused.text
    assert 'value="Mum only"' in refused.text and "Curtains drawn at noon</textarea>" in refused.text
    refused = await post(client, f"/home-visits/{vid}/outcome", {"outcome": "seen_spoken", "outcome_present": "",
                                                                 "outcome_note_left": "yes", "idempotency_key": "o-3"},
                         f"/home-visits/{vid}")
    assert refused.status_code == 400 and "Say who was present" in refused.text
    assert 'value="seen_spoken" checked' in refused.text and 'value="yes" checked' in refused.text
    long = await post(client, f"/home-visits/{vid}/outcome", {"outcome": "nonsense", "outcome_note_left": "maybe",
                                                              "outcome_notes": "x" * 2001, "idempotency_key": "o-3"},
                      f"/home-visits/{vid}")
    assert long.status_code == 400 and "Keep this to 2,000 characters." in long.text
    assert (await row(vid))["outcome"] == ""
    # The same key once the form is right: the refusals left nothing behind.
    ok = await post(client, f"/home-visits/{vid}/outcome", {"outcome": "no_answer_empty", "outcome_note_left": "yes",
                                                            "idempotency_key": "o-3"}, f"/home-visits/{vid}")
    assert ok.status_code == 303 and (await row(vid))["outcome"] == "no_answer_empty"


async def test_not_seen_alerts_the_dsl_team_and_lists_the_visit_for_today(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    data = {"outcome": "no_answer_occupied", "outcome_note_left": "yes", "outcome_notes": "TV on, no answer",
            "idempotency_key": "o-4"}
    assert (await post(client, f"/home-visits/{vid}/outcome", data, f"/home-visits/{vid}")).status_code == 303
    assert (await post(client, f"/home-visits/{vid}/outcome", data, f"/home-visits/{vid}")).status_code == 303
    assert (await texts(cast.dsl.id)).count(NOT_SEEN_TEXT) == 1
    assert NOT_SEEN_TEXT not in await texts(w.lead.id) and NOT_SEEN_TEXT not in await texts(cast.pastoral.id)
    alert = await Notification.select().where(Notification.person == cast.dsl.id).order_by(
        Notification.id, ascending=False).first()
    assert alert["link"] == f"/home-visits/{vid}" and "Ada" not in alert["text"]
    await sign_in(client, settings, cast.dsl)
    board = text_of((await client.get("/home-visits/board")).text)
    assert "Not seen: follow up today" in board and "Ada Able : No answer, signs of occupation (10:30)" in board
    await sign_in(client, settings, w.lead)  # the pastoral lead sees the board, not the DSL's list
    assert "Not seen: follow up today" not in (await client.get("/home-visits/board")).text
    frozen_clock.current += dt.timedelta(days=1)
    await sign_in(client, settings, cast.dsl)
    assert "Not seen: follow up today" not in (await client.get("/home-visits/board")).text  # a same-day list


async def test_the_outcome_can_be_recorded_at_the_door_before_checking_out(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock, finish=False)
    ok = await post(client, f"/home-visits/{vid}/outcome", {"outcome": "seen_spoken", "outcome_present": "Ada, dad",
                                                            "outcome_note_left": "no", "idempotency_key": "o-5"},
                    f"/home-visits/{vid}")
    assert ok.status_code == 303 and (await row(vid))["state"] == "under_way"


async def test_only_someone_who_went_records_it_and_other_schools_get_404(client, cast, settings, frozen_clock):
    w, vid = await setup(client, cast, settings, frozen_clock)
    other = await _member("other@northbridge.example", "Oli Other", cast.school_id, ["staff", "pastoral"])
    data = {"outcome": "refused", "outcome_present": "Dad", "outcome_note_left": "no", "idempotency_key": "o-6"}
    for member in (other, w.lead, cast.dsl, cast.teacher, cast.outsider):
        await sign_in(client, settings, member)
        assert (await post(client, f"/home-visits/{vid}/outcome", data, "/")).status_code == 404
    assert (await row(vid))["outcome"] == ""
    planned = await visits.plan_visit(w.actors["pastoral"], {
        "pupil_id": str(w.pupil), "address": "1 A Road", "purpose": "Check", "date": "2026-12-08", "start": "14:00",
        "minutes": "45", "staff_1": str(cast.pastoral.id), "phone_1": "07700 900111", "staff_2": str(w.pastoral2.id),
        "phone_2": "07700 900222"}, key="p-x", digest="d")
    await sign_in(client, settings, cast.pastoral)
    early = await post(client, f"/home-visits/{planned['id']}/outcome", {**data, "idempotency_key": "o-7"}, "/")
    assert early.status_code == 409
