"""A pastoral lead invited with that role alone is a pastoral officer too: they can log an incident, follow up
and refer, not only see every case."""

from app.domain.schools import service as schools
from app.domain.schools.service import Origin
from tests.conftest import Member, sign_in


async def test_a_pastoral_lead_given_no_other_role_can_do_a_pastoral_officers_work(client, settings, cast):
    pid = await schools.add_person(email="lead@northbridge.example", display_name="Lena Lead",
                                   school_id=cast.school_id, roles=["pastoral_lead"], actor=None,
                                   origin=Origin(ip="test"))
    await sign_in(client, settings, Member(pid, "lead@northbridge.example", "Lena Lead", cast.school_id))
    for path in ("/incidents/new", "/incidents/follow-up", "/referrals/", "/casework/", "/interventions/"):
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get("/concerns")).status_code == 404  # not the DSL's
