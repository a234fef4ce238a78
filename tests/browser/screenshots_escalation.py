"""Screenshots of the escalation, rules and access-log pages for the README.

    OTP_REQUIRED_ROLES= make run ADDR=127.0.0.1:8766 &
    python -m tests.browser.screenshots_escalation http://127.0.0.1:8766 docs/screenshots

Run against the demo data after the worker (or `make run`) has evaluated the
children. OTP_REQUIRED_ROLES is emptied only so the script can sign in as the
demo manager and admin without an authenticator app. Not a test.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from . import screenshots
from .conftest import CHROMIUM, CHROMIUM_FLAGS

screenshots.DEMO.update(
    {"admin.reed": "demo-admin-eastmere-2026", "audit.lewis": "demo-auditor-eastmere-2026"}
)


def main(base: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = screenshots.sign_in(browser, base, "mgr.okafor")
        page.goto(f"{base}/escalation/")
        screenshots.shoot(page, out, "escalation-dashboard", full_page=True)
        page.click("main table a")
        page.wait_for_load_state()
        screenshots.shoot(page, out, "alert", full_page=True)
        page = screenshots.sign_in(browser, base, "admin.reed")
        page.goto(f"{base}/rules/")
        screenshots.shoot(page, out, "rules", full_page=True)
        page = screenshots.sign_in(browser, base, "audit.lewis")
        page.goto(f"{base}/audit/")
        screenshots.shoot(page, out, "access-log", full_page=True)
        page = screenshots.sign_in(browser, base, "sw.jones")
        page.goto(f"{base}/emergency-access/")
        screenshots.shoot(page, out, "emergency-access")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
