"""Browser tests: Playwright for Python driving Debian's chromium against
pytest-django's live_server, with axe-core injected to check each page.

`make test` installs chromium when it is missing. Without it these tests skip,
except in CI (CI set), where a missing browser is a failure."""

import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps

# Playwright's sync API runs an event loop in this thread; the test body's own
# database calls are still synchronous, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags, chromium keeps calling hosts this network refuses.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]


# Data migrations whose rows the pages need (the scoring configuration, the rules).
DEFAULTS = [
    "neglect_tool.migrations.0002_default_domains_and_scoring",
    "escalation.migrations.0002_default_rule_set",
]


def load_migration_defaults() -> None:
    """Re-run the data migrations (each is re-runnable). Browser tests need committed
    rows, so they run in transactional mode, whose flush removes these rows too."""
    for module in DEFAULTS:
        importlib.import_module(module).load_defaults(django_apps, None)


@pytest.fixture(autouse=True)
def _migration_defaults(transactional_db):
    load_migration_defaults()


@pytest.fixture(scope="session", autouse=True)
def _leave_the_defaults_behind(django_db_blocker):
    # The last flush would otherwise leave a reused test database (--reuse-db)
    # without them for the next run.
    yield
    with django_db_blocker.unblock():
        load_migration_defaults()


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real browser against a live server")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Open pages in fresh browser contexts (no shared cookies or storage)."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(viewport={"width": 1200, "height": 900}, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def assert_accessible(page) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on the page as it is now."""
    # Evaluated through the browser's debugging protocol, not added as a <script>: the
    # app's Content Security Policy (rightly) refuses inline script.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert not problems, f"{page.url}\n" + "\n".join(problems)


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching `selector` has the focus, proving that
    the keyboard alone reaches it."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector} on {page.url}")
