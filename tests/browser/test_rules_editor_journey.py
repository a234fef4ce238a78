"""An admin takes a rule change from draft to active in a real browser: a draft
made from the active rules, one rule changed (first with a value out of range),
the back-test run, and the draft activated. Every page on the way, and the
scoring pages, pass axe-core."""

import pytest
from django.urls import reverse

from escalation import backtest
from escalation.models import RuleSet
from tests.words import problems_in

from .conftest import assert_accessible as assert_axe
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_accessible(page) -> None:
    """axe finds nothing, and the page is in words (no codes, no long decimals)."""
    assert_axe(page)
    assert not problems_in(page.inner_text("body")), page.url


FAMILY_A = backtest.FIXTURES / "demo" / "family_a.json"


def test_an_admin_changes_a_rule_back_tests_it_and_activates_it(live_server, new_page, ada):
    active = RuleSet.objects.get(status="active")
    page = new_page()
    sign_in(page, live_server, "ada")
    assert "not available yet" not in page.content()
    page.click("text=Escalation rules")
    page.wait_for_url(live_server.url + reverse("rule_sets"))
    assert_accessible(page)

    page.fill("#note", "A shorter timer for the child's words")
    page.click("button:has-text('Make a draft from the active rules')")
    draft = RuleSet.objects.get(status="draft")
    page.wait_for_url(live_server.url + reverse("rule_set_detail", args=[draft.version]))
    assert_accessible(page)

    edit = reverse("rule_edit", args=[draft.version, "voice-unanswered"])
    page.click(f"a[href='{edit}']")
    page.wait_for_url(live_server.url + edit)
    assert_accessible(page)

    # A value out of range: named at the top and at the field, nothing saved.
    page.fill("#id_hours", "7200")
    page.click("button:has-text('Save the rule')")
    page.wait_for_selector(".govuk-error-summary")
    assert "Hours allowed must be between 1 and 720." in page.inner_text(".govuk-error-summary")
    assert_accessible(page)
    assert draft.rules.get(code="voice-unanswered").params["hours"] == 72

    page.fill("#id_hours", "48")
    page.click("button:has-text('Save the rule')")
    page.wait_for_url(live_server.url + reverse("rule_set_detail", args=[draft.version]))
    assert draft.rules.get(code="voice-unanswered").params["hours"] == 48
    assert "Activate version" not in page.inner_text("main")  # not back-tested yet
    assert_accessible(page)

    # The ladder timings' form.
    page.goto(live_server.url + reverse("rule_set_settings", args=[draft.version]))
    assert_accessible(page)
    page.goto(live_server.url + reverse("rule_set_detail", args=[draft.version]))

    page.click(f"text=Back-test version {draft.version}")
    page.wait_for_url("**/backtests/**")
    assert_accessible(page)
    # The test is the worker: one stored history, so the replay takes seconds.
    run = draft.backtests.get()
    backtest.backtest_run(run.pk, scenarios=[("family_a.json", FAMILY_A.read_bytes())])
    page.reload()
    page.wait_for_selector("text=False alarms per 100 child-years")
    assert_accessible(page)

    page.click(f"text=Activate version {draft.version}")
    page.wait_for_url(live_server.url + reverse("rule_sets"))
    assert f"Version {draft.version} is now active." in page.inner_text("main")
    assert_accessible(page)
    draft.refresh_from_db()
    active.refresh_from_db()
    assert (draft.status, active.status) == ("active", "retired")


def test_the_scoring_pages_pass_axe(live_server, new_page, ada):
    page = new_page()
    sign_in(page, live_server, "ada")
    page.click("text=Neglect scoring")
    page.wait_for_url(live_server.url + reverse("scoring_configs"))
    assert_accessible(page)
    page.click("button:has-text('Make a draft from the active version')")
    page.wait_for_selector("text=What this draft would do today")
    assert_accessible(page)
    page.click("text=Change the weights and thresholds")
    page.wait_for_selector("#scoring-form")
    assert_accessible(page)
    page.fill("#id_statutory_from", "1")
    page.click("button:has-text('Save the draft')")
    page.wait_for_selector(".govuk-error-summary")
    assert "Thresholds must rise" in page.inner_text(".govuk-error-summary")
    assert_accessible(page)
