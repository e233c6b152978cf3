"""The home screen finds a pupil: three letters in its own search box, one tap, the profile (390x844)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import SHOTS, Authenticator, Server, enrol, fresh_email
from tests.e2e.test_accessibility import PHONE
from tests.e2e.test_quick_entry import two_pupils


def test_three_letters_and_one_tap_from_home_open_the_profile(page: Page, server: Server,
                                                              authenticator: Authenticator):
    page.set_viewport_size(PHONE)
    name = f"Hal {uuid.uuid4().hex[:6].upper()}"
    enrol(page, server.invite(fresh_email("teacher"), "staff", name=name), name)
    pupil = two_pupils(server)[0]
    box = page.get_by_label("Find a pupil")
    expect(box).to_be_in_viewport()
    box.press_sequentially(pupil["name"].split()[-1][:3], delay=30)
    result = page.locator("#results").get_by_role("link", name=re.compile(re.escape(pupil["name"]))).first
    expect(result).to_be_in_viewport()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "home-search-phone.png"))
    result.click()
    expect(page).to_have_url(re.compile(rf"/pupils/{pupil['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(pupil["name"])
    assert pupil["name"].split()[-1][:3].lower() not in page.url.lower()  # the typed letters never reach a URL
