"""A long chronology opens on its newest entries (PAGE_SIZE of them, still oldest first) with a plain link to all of
them; the heading counts them all, and the view's audit, the CSV and entries() always have every entry."""

from __future__ import annotations

import csv
import io
import json

from app.domain.audit.tables import AuditEvent
from app.domain.chronology import service as chronology
from tests.chronology.kit import actor_for, everything
from tests.conftest import sign_in


async def test_a_long_chronology_opens_on_its_newest_entries_with_a_link_to_all(client, settings, cast, monkeypatch):
    monkeypatch.setattr(chronology, "PAGE_SIZE", 3)
    ids = await everything(cast)
    await sign_in(client, settings, cast.pastoral)
    page = f"/chronology/pupil/{ids['pupil']}"
    html = (await client.get(page)).text
    # The pastoral officer sees 9 entries (no concerns); the newest 3: the case opened, its review, the on-call.
    assert "9 entries" in html and html.count('class="row chron-row') == 3
    assert "The newest 3 are shown; 6 older are not." in html and f'href="{page}?all=yes"' in html
    assert "Show all 9 entries" in html
    assert "On-call" in html and "Referral to CAMHS" not in html
    # The link works without JavaScript, and as htmx asks for it (the filtered part only).
    everything_html = (await client.get(f"{page}?all=yes")).text
    assert everything_html.count('class="row chron-row') == 9 and 'id="chronology-older"' not in everything_html
    fragment = await client.get(f"{page}?all=yes", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="chronology">')
    assert fragment.text.count('class="row chron-row') == 9
    # A mark made on the full list comes back to the full list.
    assert '<input type="hidden" name="back" value="all=yes">' in everything_html
    # Filters narrow what the first page is taken from; the link keeps them.
    filtered = (await client.get(f"{page}?source=referral&source=intervention")).text
    assert "4 entries (filtered)" in filtered and filtered.count('class="row chron-row') == 3
    assert f'href="{page}?source=referral&amp;source=intervention&amp;all=yes"' in filtered
    # Every view is audited with every entry it found; the CSV and entries() have them all.
    events = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "chronology.viewed").order_by(
        AuditEvent.id)
    assert [json.loads(e["detail"])["entries"] for e in events] == [9, 9, 9, 4]
    rows = list(csv.reader(io.StringIO((await client.get(f"{page}/csv")).text)))
    assert len(rows) == 1 + 9
    assert len(await chronology.entries(await actor_for(settings, cast.pastoral), ids["pupil"], audit=False)) == 9


async def test_a_short_chronology_has_no_link(client, settings, cast):
    ids = await everything(cast)
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/chronology/pupil/{ids['pupil']}?all=maybe")).text
    assert "9 entries" in html and html.count('class="row chron-row') == 9 and 'id="chronology-older"' not in html
