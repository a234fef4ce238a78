"""Screenshots of the pages added for issue 17, from a running demo server:

    python -m tests.browser.screenshots_words http://127.0.0.1:8765 docs/screenshots

Not a test (pytest does not collect it). Uses the demo social worker's login."""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from .conftest import CHROMIUM, CHROMIUM_FLAGS
from .screenshots import shoot, sign_in


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = sign_in(browser, base, "sw.jones")
        shoot(page, out, "my-caseload")
        page.click("a:has-text('Mia Brennan')")
        child = page.url.rstrip("/")
        page.goto(f"{child}/score/")
        shoot(page, out, "why-this-level")
        page.goto(f"{child}/assessments/new/")
        shoot(page, out, "neglect-assessment", full_page=True)
        page.goto(f"{child}/adults/new/")
        page.fill("#id_name", "Dale Example")
        page.select_option("#id_relationship", "mothers_partner")
        page.check("#id_poses_risk_to_children")
        page.click("main form button[type=submit]")
        page.wait_for_selector(".govuk-error-summary")
        shoot(page, out, "add-linked-adult")
        page.goto(f"{child}/chronology/")
        page.click("a:has-text('Correct')")
        page.wait_for_selector("h1:has-text('Correct an entry')")
        shoot(page, out, "correct-an-entry", full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
