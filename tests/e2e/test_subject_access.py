"""A subject access request on a 390x844 phone: the DSL starts one from the pupil's profile (an empty form is refused
with a message by each field), sees the due date, withholds one safeguarding concern (refused first without a
reason, what was chosen kept) and releases the other, and downloads the PDF: the released concern is in it, the
withheld one only as its reason, the other pupil only as Pupil B. axe finds no violations on each screen."""

from __future__ import annotations

import io
import sqlite3
import uuid
from contextlib import closing

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE, check

SECRET = "Said her uncle locks her out"
RELEASED = "Arrived without a coat again"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=f"/work/notes/shots/sar-{name}.png", full_page=True)


def a_pupil_with_concerns(server: Server, dsl_email: str) -> dict:
    """A demo pupil with an incident naming another pupil and two safeguarding concerns."""
    with closing(sqlite3.connect(server.db_path, timeout=10)) as con, con:
        rows = con.execute(
            "SELECT id, COALESCE(NULLIF(preferred_first_name, ''), legal_first_name), legal_last_name, school "
            "FROM pupil WHERE left_on IS NULL ORDER BY id DESC LIMIT 2").fetchall()
        (pid, first, last, school), (other, other_first, other_last, _) = rows
        person = con.execute("SELECT id FROM person WHERE email = ?", (dsl_email,)).fetchone()[0]
        stamp = con.execute("SELECT at FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()[0]
        tz = stamp[19:] if len(stamp) > 19 else ""
        category = con.execute("SELECT id FROM category WHERE school = ? AND kind = 'negative' ORDER BY id LIMIT 1",
                               (school,)).fetchone()[0]
        location = con.execute("SELECT id FROM location WHERE school = ? ORDER BY id LIMIT 1", (school,)).fetchone()[0]
        at = "2026-11-02 10:00:00" + tz
        cur = con.execute("INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, "
                          "version, outcome, deleted_reason) VALUES (?, ?, ?, ?, ?, ?, 1, '', '')",
                          (school, location, at, f"{first} and {other_first} {other_last} argued", person, at))
        for who, role in ((pid, "involved"), (other, "instigator")):
            con.execute("INSERT INTO incident_pupil (incident, pupil, role, category, points, status, "
                        "exclusion_reasons, updated_at) VALUES (?, ?, ?, ?, -1, 'open', '', ?)",
                        (cur.lastrowid, who, role, category, at))
        for n, text in ((1, SECRET), (2, RELEASED)):
            at = f"2026-11-0{n + 3} 09:00:00" + tz
            con.execute("INSERT INTO concern (school, pupil, reference, author, occurred_at, place, seen_or_said, "
                        "childs_words, present, action_taken, recorded_at, status, outcome) VALUES "
                        "(?, ?, ?, ?, ?, '', ?, '', '', '', ?, 'open', '')",
                        (school, pid, f"C-E2E{uuid.uuid4().hex[:4].upper()}", person, at, text, at))
    return {"id": pid, "name": f"{first} {last}", "other": f"{other_first} {other_last}"}


def test_the_dsl_answers_a_subject_access_request(page: Page, server: Server, authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    axe = Axe()
    name = f"Dee {uuid.uuid4().hex[:6].upper()}"
    email = fresh_email("sar")
    enrol(page, server.invite(email, "staff", "dsl", name=name), name)
    pupil = a_pupil_with_concerns(server, email)
    page.goto(f"/pupils/{pupil['id']}")
    page.locator("#start-subject-access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subject access request")

    # An empty form: a message by each field, nothing saved; then what was typed stays after a second refusal.
    page.get_by_role("button", name="Start the request").click()
    expect(page.locator("#requester_name-error")).to_contain_text("Enter the name")
    expect(page.locator("#received_on-error")).to_be_visible()
    check(axe, page, "sar-form-errors")
    shot(page, "form-errors")
    page.get_by_label("Who asked").fill("Mrs Example")
    page.get_by_label("Who they are to the pupil").fill("Mother")
    page.get_by_label("Date received").fill("2026-11-20")
    page.get_by_label("Show staff as Staff member 1, 2...").check()
    page.get_by_role("button", name="Start the request").click()
    expect(page.locator("#sar-due")).to_contain_text("20/12/2026")
    assert pupil["name"].split()[0] not in page.url
    expect(page.locator("#export-waiting")).to_be_visible()
    check(axe, page, "sar-review")
    shot(page, "review")

    items = page.locator("article.sar-item")
    for i in range(items.count()):
        item = items.nth(i)
        if SECRET in item.inner_text():
            item.get_by_label("Withhold").check()
            item.get_by_role("button", name="Save the decision").click()
            break
    withheld = page.locator("article.sar-item", has_text=SECRET)
    expect(withheld.locator(".field-error")).to_contain_text("Give the reason it is withheld")
    expect(withheld.get_by_label("Withhold")).to_be_checked()
    check(axe, page, "sar-decision-error")
    shot(page, "decision-error")
    withheld.get_by_label("Reason, if withheld").fill("serious harm to the child")
    withheld.get_by_role("button", name="Save the decision").click()
    expect(page.locator("#sar-done")).to_have_text("Decision saved.")
    while page.locator("article.sar-item", has_text="Not decided yet").count():
        other = page.locator("article.sar-item", has_text="Not decided yet").first
        other.get_by_label("Release").check()
        other.get_by_role("button", name="Save the decision").click()
        expect(page.locator("#sar-done")).to_be_visible()
    expect(page.locator("#download-pdf")).to_be_visible()
    check(axe, page, "sar-decided")
    shot(page, "decided")

    with page.expect_download() as info:
        page.locator("#download-pdf").click()
    download = info.value
    assert download.suggested_filename.startswith("subject-access-") and pupil["name"] not in download.suggested_filename
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(open(download.path(), "rb").read())).pages)
                    .split())
    assert RELEASED in text and SECRET not in text
    assert "withheld under serious harm to the child" in text
    assert pupil["other"] not in text and "Pupil B" in text
    assert name not in text.replace(f"Produced by {name}", "")  # staff names redacted, the producer's kept
