"""Who may produce a pack: whoever may see the pupil's chronology (pastoral, the pastoral lead, the DSL, a head of
year for their years). Everyone else, another school, and a colleague opening someone else's pack: 404, never 403.
The DSL-only sources are never offered to, nor taken from, anyone outside the DSL team."""

from __future__ import annotations

import uuid

from app.domain.audit.service import Origin
from app.domain.chronology.pack_tables import CasePack
from app.domain.schools import service as schools
from app.domain.schools.tables import Membership
from tests.case_pack.kit import make_pack, pack_id, story
from tests.conftest import Member, add_pupil, post_form, sign_in


async def _lead(cast) -> Member:
    pid = await schools.add_person(email="lead@northbridge.example", display_name="Lee Lead", school_id=cast.school_id,
                                   roles=["pastoral_lead"], actor=None, origin=Origin(ip="test"))
    return Member(pid, "lead@northbridge.example", "Lee Lead", cast.school_id)


async def test_each_role_produces_a_pack_or_gets_404(client, settings, cast):
    people = await story(cast)
    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    for member in (cast.pastoral, cast.dsl, await _lead(cast), cast.head_of_year):
        preview = await make_pack(client, settings, member, people["amy"])
        assert preview.status_code == 200, member
        number = pack_id(preview)
        for path in ("", "/pack.pdf", "/pack.csv"):
            assert (await client.get(f"/case-pack/{number}{path}")).status_code == 200, (member, path)
    number = (await CasePack.select(CasePack.id).where(CasePack.created_by == cast.pastoral.id).first())["id"]
    for member in (cast.teacher, cast.responder, cast.admin, cast.guest, cast.outsider):
        await sign_in(client, settings, member)
        assert (await client.get(f"/case-pack/new?pupil={people['amy']}")).status_code == 404, member
        for path in ("", "/pack.pdf", "/pack.csv"):
            assert (await client.get(f"/case-pack/{number}{path}")).status_code == 404, (member, path)
        made = await post_form(client, "/case-pack/", {"pupil_id": str(people["amy"]), "sources": ["incident"],
                                                       "idempotency_key": str(uuid.uuid4())})
        assert made.status_code == 404
        redacted = await post_form(client, f"/case-pack/{number}/redactions", {"phrase": "Elm Road"})
        assert redacted.status_code == 404
    assert await CasePack.count() == 4


async def test_a_pack_is_its_producers_and_a_head_of_year_sees_only_their_years(client, settings, cast):
    people = await story(cast)
    number = pack_id(await make_pack(client, settings, cast.pastoral, people["amy"]))
    await sign_in(client, settings, cast.dsl)  # sees Amy's chronology, but this pack is Pat's working document
    for path in ("", "/pack.pdf", "/pack.csv"):
        assert (await client.get(f"/case-pack/{number}{path}")).status_code == 404
    assert (await post_form(client, f"/case-pack/{number}/redactions", {"phrase": "Elm Road"})).status_code == 404

    await Membership.update({Membership.years: "7"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    assert (await client.get(f"/case-pack/new?pupil={people['amy']}")).status_code == 404  # year 9
    assert (await client.get(f"/case-pack/new?pupil={people['sam']}")).status_code == 200  # year 7


async def test_another_schools_pupil_is_not_found(client, settings, cast):
    theirs = await add_pupil(cast.other_school_id, "Eve", "Elsewhere")
    await sign_in(client, settings, cast.dsl)
    assert (await client.get(f"/case-pack/new?pupil={theirs}")).status_code == 404
    made = await post_form(client, "/case-pack/", {"pupil_id": str(theirs), "sources": ["incident"],
                                                   "idempotency_key": str(uuid.uuid4())})
    assert made.status_code == 404
    assert await CasePack.count() == 0


async def test_dsl_only_sources_are_offered_to_the_dsl_team_only(client, settings, cast):
    people = await story(cast)
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get(f"/case-pack/new?pupil={people['amy']}")).text
    assert 'value="incident"' in page and 'value="concern"' not in page and 'value="dsl_action"' not in page
    refused = await post_form(client, "/case-pack/", {"pupil_id": str(people["amy"]), "sources": ["concern"],
                                                      "idempotency_key": str(uuid.uuid4())})
    assert refused.status_code == 400 and "Choose at least one kind of entry." in refused.text
    await sign_in(client, settings, cast.dsl)
    assert 'value="concern"' in (await client.get(f"/case-pack/new?pupil={people['amy']}")).text


async def test_the_dsl_confirms_with_a_passkey_before_a_pack_that_can_hold_concerns(client, settings, cast,
                                                                                     frozen_clock):
    from app.domain.audit.tables import AuditEvent

    people = await story(cast)
    number = pack_id(await make_pack(client, settings, cast.dsl, people["amy"]))
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    for path in ("", "/pack.pdf", "/pack.csv"):
        response = await client.get(f"/case-pack/{number}{path}")
        assert response.status_code == 403 and "fresh check with your passkey" in response.text, path
        assert "Pupil B" not in response.text
    refused = await post_form(client, f"/case-pack/{number}/redactions", {"phrase": "Elm Road"},
                              page=f"/case-pack/new?pupil={people['amy']}")
    assert refused.status_code == 403
    assert await AuditEvent.count().where(AuditEvent.action.is_in(["case_pack.exported",
                                                                    "case_pack.redaction_added"])) == 0
