"""The "significant" flag: marked and unmarked from a row (POST with CSRF; htmx swaps the row), one flag however
often it is sent, audited in its transaction, kept per pupil, and "significant only" shows just those."""

from __future__ import annotations

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.chronology import service as chronology
from app.domain.chronology.tables import ChronologyFlag
from app.errors import NotFound
from tests.chronology.kit import actor_for, everything
from tests.conftest import csrf, post_form, sign_in


async def test_marking_an_entry_significant_and_showing_significant_only(client, settings, cast):
    ids = await everything(cast)
    pupil, ref = ids["pupil"], f"contact:{ids['contact']}"
    await sign_in(client, settings, cast.pastoral)
    response = await post_form(client, f"/chronology/pupil/{pupil}/significant", {"ref": ref, "significant": "yes"},
                               page=f"/chronology/pupil/{pupil}")
    assert response.status_code == 200 and str(response.url).endswith(f"/chronology/pupil/{pupil}#e-contact-{ids['contact']}")
    assert "Unmark significant" in response.text
    html = (await client.get(f"/chronology/pupil/{pupil}?significant_only=yes")).text
    assert "1 entry (filtered)" in html and "Mrs Brook" in html and "Fighting" not in html
    rows = await chronology.entries(await actor_for(settings, cast.dsl), pupil, significant_only=True, audit=False)
    assert [e.ref for e in rows] == [ref] and rows[0].significant  # the whole team sees the same flag
    # Sent twice: one flag, one audit event.
    await post_form(client, f"/chronology/pupil/{pupil}/significant", {"ref": ref, "significant": "yes"})
    assert await ChronologyFlag.count() == 1
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.subject_id, AuditEvent.detail).where(
        AuditEvent.action.like("chronology.%marked_significant"))
    assert [(e["action"], e["subject_id"]) for e in events] == [("chronology.marked_significant", str(pupil))]
    assert ref in events[0]["detail"] and "Brook" not in events[0]["detail"]
    # Unmarked.
    await post_form(client, f"/chronology/pupil/{pupil}/significant", {"ref": ref, "significant": ""})
    assert await ChronologyFlag.count() == 0
    assert "chronology.unmarked_significant" in [e["action"] for e in await AuditEvent.select(AuditEvent.action)]


async def test_htmx_swaps_just_the_row(client, settings, cast):
    ids = await everything(cast)
    pupil, ref = ids["pupil"], f"incident:{ids['incident']}"
    await sign_in(client, settings, cast.pastoral)
    token = await csrf(client, f"/chronology/pupil/{pupil}")
    response = await client.post(f"/chronology/pupil/{pupil}/significant", headers={"HX-Request": "true"},
                                 data={"toggle": f"yes:{ref}", "_csrf_token": token})  # as the row's button sends it
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<li class="row chron-row significant" id="e-incident-{ids["incident"]}"')
    assert "<html" not in response.text and 'aria-pressed="true"' in response.text
    assert f'name="toggle" value="no:{ref}"' in response.text  # the swapped row's button now unmarks
    response = await client.post(f"/chronology/pupil/{pupil}/significant", headers={"HX-Request": "true"},
                                 data={"toggle": f"no:{ref}", "_csrf_token": token})
    assert 'aria-pressed="false"' in response.text and await ChronologyFlag.count() == 0


async def test_without_the_csrf_token_nothing_is_marked(client, settings, cast):
    ids = await everything(cast)
    await sign_in(client, settings, cast.pastoral)
    response = await client.post(f"/chronology/pupil/{ids['pupil']}/significant",
                                 data={"ref": f"contact:{ids['contact']}", "significant": "yes"})
    assert response.status_code == 403 and await ChronologyFlag.count() == 0


async def test_entries_one_may_not_see_cannot_be_marked(client, settings, cast):
    ids = await everything(cast)
    pastoral = await actor_for(settings, cast.pastoral)
    for ref in (f"concern:{ids['concern']}", "dsl_action:1", "incident:999999", "nonsense", "x" * 500,
                f"contact:{ids['contact']}0"):
        with pytest.raises(NotFound):
            await chronology.set_significant(pastoral, ids["pupil"], ref, True)
    # Another pupil's entry, through this pupil's chronology.
    with pytest.raises(NotFound):
        await chronology.set_significant(pastoral, ids["other"], f"contact:{ids['contact']}", True)
    assert await ChronologyFlag.count() == 0
    await sign_in(client, settings, cast.pastoral)
    response = await post_form(client, f"/chronology/pupil/{ids['pupil']}/significant",
                               {"ref": f"concern:{ids['concern']}", "significant": "yes"})
    assert response.status_code == 404
    response = await post_form(client, f"/chronology/pupil/{ids['pupil']}/significant",
                               {"ref": f"contact:{ids['contact']}", "significant": "perhaps"})
    assert response.status_code == 400 and await ChronologyFlag.count() == 0
    # The DSL may mark a concern.
    await chronology.set_significant(await actor_for(settings, cast.dsl), ids["pupil"], f"concern:{ids['concern']}", True)
    assert await ChronologyFlag.count() == 1
