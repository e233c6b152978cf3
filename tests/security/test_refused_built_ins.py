"""A refused form leaves no row behind, not even a school's built-in case types or goal-based ratings, which are
otherwise stored the first time a page offers them (the fuzzer found both: a 400 that had stored 6 case types,
another that had stored the goals instrument)."""

from app.domain.casework.tables import CaseType
from app.domain.interventions.tables import Instrument
from tests.conftest import csrf, sign_in


async def test_a_refused_case_type_stores_no_built_in_types(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    token = await csrf(client, "/")
    refused = await client.post("/casework/types", data={"name": "", "review_weeks": "x"},
                                headers={"x-csrftoken": token})
    assert refused.status_code == 400
    assert "Give the type a name" in refused.text and "Pastoral" in refused.text  # the built-ins are still shown
    assert await CaseType.count() == 0
    assert (await client.get("/casework/types")).status_code == 200  # a page that offers them stores them
    assert await CaseType.count() == 6


async def test_a_refused_instrument_or_programme_stores_no_goal_ratings(client, settings, cast):
    await sign_in(client, settings, cast.dsl)
    token = await csrf(client, "/")
    for path in ("/interventions/instruments", "/interventions/"):
        refused = await client.post(path, files={"x": ("", b"")}, headers={"x-csrftoken": token})
        assert refused.status_code == 400, path
    assert await Instrument.count() == 0
    assert (await client.get("/interventions/instruments")).status_code == 200
    assert await Instrument.count() == 1
