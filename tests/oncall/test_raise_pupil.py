"""On-call with a pupil (issue 11, point 13): the raise form names a pupil of the raiser's school (from the search
or a profile), responders see the pupil's name and form, alerts and pushes never do; the claimer hands a request
over with a button; "Log an incident next" opens quick entry with the pupil, or with the room when there is none."""

import re

import pytest

from app.domain.incidents.tables import Location
from app.domain.notifications.tables import Notification
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallPupil, OnCallRequest
from tests.conftest import add_pupil, csrf, post_form, sign_in
from tests.oncall.test_oncall import as_, raise_it, school  # noqa: F401  (the fixture)


def request_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def claimed(client, settings, school, **fields) -> int:  # noqa: F811
    """A teacher raises (with whatever fields), the responder on the rota claims it."""
    await as_(client, settings, school.teacher)
    rid = request_id(await raise_it(client, school, **fields))
    await as_(client, settings, school.responder)
    await post_form(client, f"/oncall/{rid}/acknowledge", page=f"/oncall/{rid}")
    return rid


# Naming a pupil ------------------------------------------------------------------------------------------------

async def test_it_stores_the_pupil_named_and_shows_their_name_and_form_to_responders(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.teacher)
    rid = request_id(await raise_it(client, school, pupil_id=school.pupil))
    assert [r["pupil"] for r in await OnCallPupil.select().where(OnCallPupil.request == rid)] == [school.pupil]
    teachers_page = (await client.get(f"/oncall/{rid}")).text
    assert "Ava Okafor" in teachers_page  # the teacher who named her sees whom they called about

    await as_(client, settings, school.responder)
    board = (await client.get("/oncall/board")).text
    card = board[board.index(f'id="oncall-{rid}"'):]
    assert re.search(r'Pupil: <strong class="pupil-name">Ava Okafor</strong> <span class="pupil-meta">9A</span>', card)
    assert "Ava Okafor" in (await client.get(f"/oncall/{rid}")).text


async def test_the_form_offers_the_search_and_sends_without_a_pupil_when_nothing_is_picked(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.teacher)
    page = (await client.get("/oncall/new")).text
    # The search is the quick-entry picker's (POST /incidents/pick); hidden until oncall-raise.js shows it.
    assert 'id="oncall-find" hidden' in page and 'hx-post="/incidents/pick"' in page
    assert '<script src="/static/js/oncall-raise.js" defer></script>' in page
    assert 'name="pupil_id"' not in page.split('<template id="oncall-chosen-template">')[0]
    rid = request_id(await raise_it(client, school, q="Ava"))  # what was typed in the search is not a pupil
    assert await OnCallPupil.count().where(OnCallPupil.request == rid) == 0
    assert "Pupil:" not in (await client.get(f"/oncall/{rid}")).text


async def test_it_refuses_a_pupil_of_another_school_and_calls_nobody(client, settings, school, sister):  # noqa: F811
    elsewhere = await add_pupil(school.other_school_id, "Zed", "Farrow")
    juniors = await add_pupil(sister["school_id"], "Yan", "Juniper", form="3J")  # same trust, another school
    await sign_in(client, settings, school.teacher)
    for pupil, name in ((elsewhere, "Zed Farrow"), (juniors, "Yan Juniper")):
        response = await raise_it(client, school, pupil_id=pupil, note="Needs removing")
        assert response.status_code == 400
        assert "Nobody has been called yet" in response.text
        assert "The pupil chosen is not at this school: find them again, or call without a pupil." in response.text
        assert 'id="oncall-pupils" aria-invalid="true" aria-describedby="pupils-error"' in response.text
        assert name not in response.text and 'value="Needs removing"' in response.text  # what was typed stays
    assert await OnCallRequest.count() == 0 and await Notification.count() == 0


async def test_a_raise_from_a_profile_shows_the_pupil_ticked(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.guest)  # supply staff see a pupil's name and form (DESIGN.md)
    page = (await client.get(f"/oncall/new?pupil={school.pupil}")).text
    assert f'<input type="checkbox" name="pupil_id" value="{school.pupil}" checked>' in page
    assert '<strong class="name">Ava Okafor</strong> <span class="pupil-meta meta">9A</span>' in page
    rid = request_id(await raise_it(client, school, pupil_id=school.pupil))
    assert [r["pupil"] for r in await OnCallPupil.select().where(OnCallPupil.request == rid)] == [school.pupil]
    # Unticked (the form sends no pupil_id): the call goes without her.
    rid = request_id(await raise_it(client, school))
    assert await OnCallPupil.count().where(OnCallPupil.request == rid) == 0


async def test_a_profile_link_with_another_schools_pupil_shows_nobody(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.outsider)
    page = await client.get(f"/oncall/new?pupil={school.pupil}")
    assert page.status_code == 200
    assert "Ava" not in page.text and "Okafor" not in page.text
    assert 'name="pupil_id" value="' not in page.text.split('<template id="oncall-chosen-template">')[0]


async def test_an_admin_cannot_see_the_pupil_on_the_board(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.teacher)
    rid = request_id(await raise_it(client, school, pupil_id=school.pupil))
    await as_(client, settings, school.admin)  # not a responder: the board and the request are not theirs
    assert (await client.get("/oncall/board")).status_code == 404
    assert (await client.get(f"/oncall/{rid}")).status_code == 404


async def test_alerts_and_pushes_never_name_the_pupil(client, settings, school, monkeypatch):  # noqa: F811
    pushed = []

    async def push(people, payload):  # the push service is a boundary
        pushed.append(payload)

    monkeypatch.setattr(oncall, "_push", push)
    rid = await claimed(client, settings, school, pupil_id=school.pupil, urgency="emergency")
    await post_form(client, f"/oncall/{rid}/hand-over", {"to": school.pastoral.id}, page=f"/oncall/{rid}")
    texts = [n["text"] for n in await Notification.select(Notification.text)]
    assert len(pushed) == 2 and any("handed to you" in t for t in texts)  # the raise, and the hand-over
    assert pushed[-1] == {"title": "On-call handed to you: Emergency", "body": "Remove a pupil in Room 12",
                          "url": f"/oncall/{rid}"}
    for text in texts + [str(p) for p in pushed]:
        assert "Ava" not in text and "Okafor" not in text


# Hand over -------------------------------------------------------------------------------------------------------

async def test_only_the_claimer_sees_hand_over_and_it_hands_the_request_over(client, settings, school):  # noqa: F811
    rid = await claimed(client, settings, school, pupil_id=school.pupil)
    page = (await client.get(f"/oncall/{rid}")).text
    form = page[page.index(f'<form method="post" action="/oncall/{rid}/hand-over"'):]
    form = form[:form.index("</form>")]
    assert 'name="_csrf_token"' in form and ">Hand over</button>" in form
    options = re.findall(r'<option value="(\d+)">([^<]+)</option>', form)
    assert ("Pat Pastoral" in dict((n, i) for i, n in options)) and (str(school.dsl.id), "Dee Lead") in options
    assert "Ravi Responder" not in form and "Tara Teacher" not in form  # not oneself, not a teacher

    for someone in (school.dsl, school.teacher):  # a responder who did not claim it; the requester
        await as_(client, settings, someone)
        assert "/hand-over" not in (await client.get(f"/oncall/{rid}")).text

    await as_(client, settings, school.responder)
    token = await csrf(client, f"/oncall/{rid}")
    done = await client.post(f"/oncall/{rid}/hand-over", data={"_csrf_token": token, "to": school.pastoral.id},
                             follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/oncall/{rid}"
    row = await OnCallRequest.select().where(OnCallRequest.id == rid).first()
    assert row["responder"] == school.pastoral.id and row["state"] == "acknowledged"
    assert "/hand-over" not in (await client.get(f"/oncall/{rid}")).text  # no longer Ravi's to hand over
    assert await Notification.count().where(Notification.person == school.pastoral.id) == 1
    await as_(client, settings, school.pastoral)
    page = (await client.get(f"/oncall/{rid}")).text
    assert "Pat Pastoral: claimed" in page and ">Hand over</button>" in page and ">On my way</button>" in page


async def test_hand_over_refuses_the_wrong_person_and_a_wrong_colleague(client, settings, school):  # noqa: F811
    rid = await claimed(client, settings, school)
    bad = await post_form(client, f"/oncall/{rid}/hand-over", {"to": school.teacher.id}, page=f"/oncall/{rid}")
    assert bad.status_code == 400 and "Choose another responder at this school." in bad.text
    assert ">Hand over</button>" in bad.text  # the page again, with the button
    nobody = await post_form(client, f"/oncall/{rid}/hand-over", {}, page=f"/oncall/{rid}")
    assert nobody.status_code == 400

    await as_(client, settings, school.dsl)  # may respond, but did not claim it
    stolen = await post_form(client, f"/oncall/{rid}/hand-over", {"to": school.pastoral.id}, page=f"/oncall/{rid}")
    assert stolen.status_code == 409 and "Ravi Responder already has this request." in stolen.text

    await as_(client, settings, school.outsider)  # another trust's school: not found, whoever is named
    outside = await post_form(client, f"/oncall/{rid}/hand-over", {"to": school.pastoral.id}, page="/")
    assert outside.status_code == 404
    assert (await OnCallRequest.select(OnCallRequest.responder).first())["responder"] == school.responder.id


# Log an incident next --------------------------------------------------------------------------------------------

async def test_log_an_incident_next_without_a_pupil_opens_quick_entry_with_the_room(client, settings, school):  # noqa: F811
    from app.domain.incidents.service import ensure_defaults
    from app.domain.incidents.tables import Category, Incident

    await ensure_defaults(school.school_id)
    rid = await claimed(client, settings, school)
    page = (await client.get(f"/oncall/{rid}")).text
    assert "Log an incident next (the room is filled in)" in page
    token = await csrf(client, f"/oncall/{rid}")
    resolved = await client.post(f"/oncall/{rid}/resolve", data={"_csrf_token": token, "outcome": "returned",
                                                                  "log_incident": "yes"}, follow_redirects=False)
    assert resolved.headers["location"] == f"/incidents/new?location={school.room}&oncall={rid}"
    form = (await client.get(resolved.headers["location"])).text
    assert f'<option value="{school.room}" selected>Room 12</option>' in form
    assert f'name="oncall_id" value="{rid}"' in form and 'data-pupil-id="' not in form.split("<template")[0]

    # The resolved request keeps the way there for the responder, until an incident is linked.
    assert f'href="/incidents/new?location={school.room}&amp;oncall={rid}"' in (await client.get(f"/oncall/{rid}")).text
    pupil = await add_pupil(school.school_id, "Ben", "Hale")
    category = (await Category.select(Category.id).where(Category.school == school.school_id).first())["id"]
    token = await csrf(client, "/incidents/new")
    await client.post("/incidents/", data={"_csrf_token": token, "pupil_id": pupil, "role": "instigator",
                                           "category_id": category, "location_id": school.room, "oncall_id": rid})
    incident = await Incident.select(Incident.id, Incident.location).first()
    assert incident["location"] == school.room
    assert (await OnCallRequest.select(OnCallRequest.incident).where(OnCallRequest.id == rid).first())["incident"] \
        == incident["id"]
    assert "Log an incident next</a>" not in (await client.get(f"/oncall/{rid}")).text


async def test_log_an_incident_next_with_a_pupil_opens_quick_entry_with_the_pupil(client, settings, school):  # noqa: F811
    rid = await claimed(client, settings, school, pupil_id=school.pupil)
    assert "Log an incident for the pupil next" in (await client.get(f"/oncall/{rid}")).text
    token = await csrf(client, f"/oncall/{rid}")
    resolved = await client.post(f"/oncall/{rid}/resolve", data={"_csrf_token": token, "outcome": "removed",
                                                                  "log_incident": "yes"}, follow_redirects=False)
    assert resolved.headers["location"] == f"/incidents/new?pupil={school.pupil}&oncall={rid}"
    form = (await client.get(resolved.headers["location"])).text
    assert f'data-pupil-id="{school.pupil}"' in form and "Ava Okafor" in form


async def test_someone_elses_resolve_does_not_open_quick_entry(client, settings, school):  # noqa: F811
    rid = await claimed(client, settings, school, pupil_id=school.pupil)
    await as_(client, settings, school.dsl)
    token = await csrf(client, f"/oncall/{rid}")
    refused = await client.post(f"/oncall/{rid}/resolve", data={"_csrf_token": token, "outcome": "returned",
                                                                 "log_incident": "yes"}, follow_redirects=False)
    assert refused.status_code == 409 and "location" not in refused.headers
    assert "/incidents/new" not in refused.text  # the link is only for the responder who has it
    assert (await OnCallRequest.select(OnCallRequest.state).first())["state"] == "acknowledged"


async def test_quick_entry_shows_no_room_of_another_school(client, settings, school):  # noqa: F811
    gym = (await Location.insert(Location(school=school.other_school_id, name="Elsewhere Gym")))[0]["id"]
    await sign_in(client, settings, school.teacher)
    form = (await client.get(f"/incidents/new?location={gym}")).text
    assert "Elsewhere Gym" not in form and " selected>" not in form.split('id="location_id"')[1].split("</select>")[0]
    assert f'<option value="{school.room}" selected>' in (await client.get(f"/incidents/new?location={school.room}")).text
