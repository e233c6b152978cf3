"""Who answers on-call (DESIGN.md: responders, pastoral staff, heads of year, the DSL team), and a request of
another school is "not found" whatever the form says (found by the route matrix, tests/security)."""

from app.domain.audit.service import Origin
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallRequest
from app.domain.schools import service as schools
from app.domain.schools.tables import School
from tests.conftest import Member, post_form, sign_in
from tests.oncall.test_oncall import as_, raise_it, school  # noqa: F401  (the fixture)


async def test_it_keeps_the_board_and_the_claim_from_an_admin(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.teacher)
    raised = await raise_it(client, school, pupil_id=school.pupil)
    request_id = int(raised.headers["location"].rsplit("/", 1)[1])

    await as_(client, settings, school.admin)  # admin and staff: sets the rota, reads the report, never responds
    assert (await client.get("/oncall/board")).status_code == 404
    assert (await client.get(f"/oncall/{request_id}")).status_code == 404
    claim = await post_form(client, f"/oncall/{request_id}/acknowledge", page="/oncall/new")
    assert claim.status_code == 404
    assert (await OnCallRequest.select(OnCallRequest.state).first())["state"] == "raised"
    assert (await client.get("/oncall/report")).status_code == 200

    await as_(client, settings, school.responder)
    assert (await client.get("/oncall/board")).status_code == 200
    claim = await post_form(client, f"/oncall/{request_id}/acknowledge", page="/oncall/board")
    assert claim.status_code == 200 and (await OnCallRequest.select(OnCallRequest.state).first())["state"] == "acknowledged"


async def test_it_answers_a_hand_over_of_another_schools_request_with_not_found(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.teacher)
    raised = await raise_it(client, school, pupil_id=school.pupil)
    request_id = int(raised.headers["location"].rsplit("/", 1)[1])
    await oncall.acknowledge(await _actor(settings, school.responder), request_id)

    # A responder of another school of the same trust names A's pastoral lead: the request is A's, so 404,
    # not the form error that said who is (not) a responder there.
    trust = (await School.select(School.trust).where(School.id == school.school_id).first())["trust"]
    south = School(trust=trust, name="Northbridge South", slug="south", la_code="801", establishment_number="4003",
                   created_at=school.clock.current)
    await south.save()
    pid = await schools.add_person(email="resp@south.example", display_name="Sol Responder", school_id=south.id,
                                   roles=["staff", "responder"], actor=None, origin=Origin(ip="test"))
    await as_(client, settings, Member(pid, "resp@south.example", "Sol Responder", south.id))
    response = await post_form(client, f"/oncall/{request_id}/hand-over", {"to": str(school.pastoral.id)},
                               page="/oncall/new")
    assert response.status_code == 404
    assert (await OnCallRequest.select(OnCallRequest.responder).first())["responder"] == school.responder.id

    # The holder still hands over, and a wrong colleague is still a form error for them.
    await as_(client, settings, school.responder)
    wrong = await post_form(client, f"/oncall/{request_id}/hand-over", {"to": str(school.teacher.id)},
                            page="/oncall/board")
    assert wrong.status_code == 400
    done = await post_form(client, f"/oncall/{request_id}/hand-over", {"to": str(school.pastoral.id)},
                           page="/oncall/board")
    assert done.status_code == 200
    assert (await OnCallRequest.select(OnCallRequest.responder).first())["responder"] == school.pastoral.id


async def _actor(settings, member):
    from app.domain.accounts import service as accounts

    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))
