"""Who sees a programme: pastoral staff, the pastoral lead and the DSL every one; a head of year the programmes
with pupils of their years, and of those only their years' pupils (in the page, the register and the figures);
everyone else, and other schools, "not found"."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.audit.service import Origin
from app.domain.schools import service as schools
from app.domain.schools.tables import Membership
from tests.conftest import Member, add_pupil, post_form, sign_in
from tests.interventions.kit import actor_for, enrol, instrument, measure, programme, register


async def _lead(cast) -> Member:
    pid = await schools.add_person(email="lead@northbridge.example", display_name="Lee Lead", school_id=cast.school_id,
                                   roles=["staff", "pastoral_lead"], actor=None, origin=Origin(ip="test"))
    return Member(pid, "lead@northbridge.example", "Lee Lead", cast.school_id)


async def _mixed_group(settings, cast) -> tuple[int, int, int]:
    """A group with Mia (year 9) and Leo (year 11); both measured, one session."""
    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    dsl = await actor_for(settings, cast.dsl)
    scale = await instrument(dsl)
    programme_id = await programme(dsl, scale, name="Mixed group", starts_on="2026-10-01")
    mia = await enrol(dsl, programme_id, await add_pupil(cast.school_id, "Mia", "Brook", year="9"))
    leo = await enrol(dsl, programme_id, await add_pupil(cast.school_id, "Leo", "Stone", year="11", form="11B"))
    for pid, score in ((mia, 4), (leo, 10)):
        await measure(dsl, programme_id, pid, "baseline", dt.date(2026, 10, 1), score)
    await register(dsl, programme_id, dt.date(2026, 10, 2), {mia: "attended", leo: "attended"})
    for pid, score in ((mia, 8), (leo, 11)):
        await measure(dsl, programme_id, pid, "exit", dt.date(2026, 10, 9), score)
    return programme_id, mia, leo


async def test_each_role_sees_a_programme_or_gets_404(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    programme_id, _, _ = await _mixed_group(settings, cast)
    lead = await _lead(cast)
    for member in (cast.pastoral, cast.dsl, lead, cast.head_of_year):
        await sign_in(client, settings, member)
        for path in ("", "/register", "/impact", "/impact.csv"):
            assert (await client.get(f"/interventions/{programme_id}{path}")).status_code == 200, (member, path)
    for member in (cast.teacher, cast.responder, cast.admin, cast.guest, cast.outsider):
        await sign_in(client, settings, member)
        for path in ("", "/register", "/impact", "/impact.csv"):
            assert (await client.get(f"/interventions/{programme_id}{path}")).status_code == 404, (member, path)
        assert (await client.get("/interventions/")).status_code == 404
        response = await post_form(client, f"/interventions/{programme_id}/register", {
            "held_on": "2026-10-03", "idempotency_key": str(uuid.uuid4())})
        assert response.status_code == 404


async def test_a_head_of_year_sees_only_their_years_pupils(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    programme_id, mia, leo = await _mixed_group(settings, cast)
    await sign_in(client, settings, cast.head_of_year)
    page = (await client.get(f"/interventions/{programme_id}")).text
    assert "Mia Brook" in page and "Leo Stone" not in page
    register_page = (await client.get(f"/interventions/{programme_id}/register")).text
    assert "Mia Brook" in register_page and "Leo Stone" not in register_page
    assert (await client.get(f"/interventions/{programme_id}/measures/{leo}")).status_code == 404
    impact = (await client.get(f"/interventions/{programme_id}/impact")).text
    assert "+4.00 over 1 pupil" in impact  # Mia's change alone; Leo's +1 is not counted for this viewer
    await sign_in(client, settings, cast.dsl)
    assert "+2.50 (SD 2.12) over 2 pupils" in (await client.get(f"/interventions/{programme_id}/impact")).text
    # A programme with only other years' pupils is not found for the head of year.
    dsl = await actor_for(settings, cast.dsl)
    other = await programme(dsl, await instrument(dsl, "Other scale"), name="Year 11 only", starts_on="2026-10-01")
    await enrol(dsl, other, await add_pupil(cast.school_id, "Zoe", "Park", year="11", form="11B"))
    await sign_in(client, settings, cast.head_of_year)
    assert (await client.get(f"/interventions/{other}")).status_code == 404
    listing = (await client.get("/interventions/")).text
    assert "Mixed group" in listing and "Year 11 only" not in listing
    # ...and cannot put another year's pupil on a programme.
    response = await post_form(client, f"/interventions/{programme_id}/pupils", {
        "pupil_id": str(await add_pupil(cast.school_id, "Ann", "Other", year="10", form="10A")),
        "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400 and "Choose a pupil from the list." in response.text


async def test_another_school_gets_404_and_cannot_name_this_schools_records(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    programme_id, mia, _ = await _mixed_group(settings, cast)
    other_dsl = await schools.add_person(email="dsl@elsewhere.example", display_name="Ola Other",
                                         school_id=cast.other_school_id, roles=["staff", "dsl"], actor=None,
                                         origin=Origin(ip="test"))
    member = Member(other_dsl, "dsl@elsewhere.example", "Ola Other", cast.other_school_id)
    await sign_in(client, settings, member)
    for path in ("", "/register", f"/measures/{mia}", "/impact", "/impact.csv"):
        assert (await client.get(f"/interventions/{programme_id}{path}")).status_code == 404
    assert "Mixed group" not in (await client.get("/interventions/")).text
    csv_text = (await client.get("/interventions/terms/2026-autumn/impact.csv")).text
    assert "Mixed group" not in csv_text
