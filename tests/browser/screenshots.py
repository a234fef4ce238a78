"""Take the README's screenshots of the main pages from a running demo server.

    make run ADDR=127.0.0.1:8765 &    # the demo, on the embedded PostgreSQL
    python -m tests.browser.screenshots http://127.0.0.1:8765 docs/screenshots

Not a test (pytest does not collect it). Pictures are reduced to 64 colours to keep
the repository small.
"""

import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from .conftest import CHROMIUM, CHROMIUM_FLAGS

DEMO = {
    "sw.jones": "demo-practitioner-eastmere-2026",
    "lead.patel": "demo-dsl-saltmarsh-2026",
    "mgr.okafor": "demo-manager-eastmere-2026",
}


def shoot(page, out: Path, name: str, full_page: bool = False) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    image = Image.open(path)
    if image.height > 2200:
        image = image.crop((0, 0, image.width, 2200))
    image.convert("RGB").quantize(colors=64).save(path, optimize=True)
    print(f"{path} {path.stat().st_size // 1024} KiB")


def sign_in(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1200, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO[username])
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    return page


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)

        page = browser.new_page(viewport={"width": 1200, "height": 700}, locale="en-GB")
        page.goto(f"{base}/login/")
        page.fill("#id_username", "lead.patel")
        page.fill("#id_password", "wrong")
        page.click("main button[type=submit]")
        shoot(page, out, "login")

        page = sign_in(browser, base, "lead.patel")
        shoot(page, out, "my-pupils")
        page.goto(f"{base}/notifications/")
        shoot(page, out, "notifications")
        page.goto(f"{base}/concerns/new/")
        page.select_option("#id_child", label=page.locator("#id_child option").nth(1).inner_text())
        page.check("input[name=categories][value='neglect.clothing']")
        page.fill("#id_summary", "No coat again today; shivering at the gate at 8:40.")
        page.fill("#id_child_words", "Mum says coats are for babies")
        shoot(page, out, "record-a-concern", full_page=True)

        page = sign_in(browser, base, "sw.jones")
        shoot(page, out, "my-caseload")
        page.goto(f"{base}/children/search/?q=brennan")
        page.click("main table a >> nth=0")
        page.wait_for_load_state()
        child_url = page.url.rstrip("/")
        shoot(page, out, "child-page", full_page=True)
        page.goto(f"{child_url}/?view=significant&order=oldest#chronology")
        page.locator("#chronology").screenshot(path=str(out / "chronology.png"))
        shoot_element = Image.open(out / "chronology.png")
        shoot_element.crop((0, 0, shoot_element.width, min(shoot_element.height, 1400))).convert(
            "RGB"
        ).quantize(colors=64).save(out / "chronology.png", optimize=True)
        for name, path in [
            ("neglect-map", "neglect-map/?months=36"),
            ("household-map", "household-map/?months=36"),
            ("handover", "handover/"),
            ("record-a-decision", "decisions/new/"),
            ("export", "export/"),
        ]:
            page.goto(f"{child_url}/{path}")
            shoot(page, out, name, full_page=True)

        page = sign_in(browser, base, "mgr.okafor")
        if page.locator("h1", has_text="Children by neglect level").count():
            shoot(page, out, "manager-levels", full_page=True)
        else:  # managers must first set up a second factor: keep the older picture
            print("manager-levels.png not retaken: the manager is asked for a second factor")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
