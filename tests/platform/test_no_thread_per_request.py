"""No request hands work to a thread and back: Litestar runs a plain function given as a handler, a dependency or a
hook in a worker thread, and the hop cost more CPU than a whole home page (issue 12). Counted on the signed-in
paths staff use most: the home screen, a lookup, a profile, the quick-entry page and an incident POST."""

import uuid

import pytest
from litestar.utils import sync

from app.domain.incidents.tables import Category, Location
from tests.conftest import add_pupil, csrf, sign_in


@pytest.fixture
def thread_hops(monkeypatch) -> list[str]:
    hops: list[str] = []
    real = sync.sync_to_thread

    async def counting(fn, *args, **kwargs):
        hops.append(getattr(fn, "__qualname__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(sync, "sync_to_thread", counting)
    return hops


async def test_the_busiest_paths_run_on_the_event_loop_only(client, settings, cast, thread_hops):
    pupil = await add_pupil(cast.school_id, "Ada", "Lovelace")
    await sign_in(client, settings, cast.pastoral)
    token = await csrf(client, "/")
    category = (await Category.select(Category.id).where(
        (Category.school == cast.school_id) & (Category.kind == "negative")).first())["id"]
    location = (await Location.select(Location.id).where(Location.school == cast.school_id).first())["id"]
    thread_hops.clear()
    assert (await client.get("/")).status_code == 200
    assert (await client.post("/pupils/search", data={"q": "lov"}, headers={"x-csrftoken": token,
                                                                           "hx-request": "true"})).status_code == 200
    assert (await client.get(f"/pupils/{pupil}")).status_code == 200
    assert (await client.get("/incidents/new")).status_code == 200
    saved = await client.post("/incidents/", data={
        "idempotency_key": uuid.uuid4().hex, "pupil_id": str(pupil), "role": "instigator",
        "category_id": str(category), "location_id": str(location), "note": "Pushing in the lunch queue"},
        headers={"x-csrftoken": token}, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:300]
    assert thread_hops == []
