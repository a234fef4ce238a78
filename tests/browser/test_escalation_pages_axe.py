"""axe-core on the escalation, rules, access-log and emergency-access pages, each
also held to 15 queries whatever the data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalation import backtest
from escalation import services as escalation
from escalation.models import RuleSet

from .conftest import assert_accessible
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAMILY_A = backtest.FIXTURES / "demo" / "family_a.json"


def visit_all(page, live_server, paths):
    for path in paths:
        with CaptureQueriesContext(connection):
            response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert_accessible(page)


def test_escalation_and_admin_pages_pass_axe(
    live_server, new_page, alice, mallory, ada, auditor, child, alert
):
    manager = new_page()
    sign_in(manager, live_server, "mallory")
    visit_all(
        manager,
        live_server,
        [
            reverse("escalation_dashboard"),
            reverse("escalation_dashboard") + "?level=1&status=open",
            reverse("alert_detail", args=[alert.public_id]),
            reverse("disagreement_create", args=[child.public_id]),
            reverse("break_glass"),
        ],
    )
    # A form sent back with an error.
    manager.goto(live_server.url + reverse("disagreement_create", args=[child.public_id]))
    manager.click("main form button[type=submit]")
    manager.wait_for_selector(".govuk-error-summary")
    assert_accessible(manager)

    draft = escalation.rule_set_draft(actor=ada, based_on=RuleSet.objects.get(version=1))
    run = backtest.backtest_start(actor=ada, rule_set=draft)
    admin = new_page()
    sign_in(admin, live_server, "ada")
    visit_all(
        admin, live_server, [reverse("rule_sets"), reverse("backtest_detail", args=[run.public_id])]
    )
    backtest.backtest_run(run.pk, scenarios=[("family_a.json", FAMILY_A.read_bytes())])
    visit_all(admin, live_server, [reverse("backtest_detail", args=[run.public_id])])

    audit = new_page()
    sign_in(audit, live_server, "audrey")
    visit_all(
        audit,
        live_server,
        [
            reverse("audit_home") + f"?child={child.public_id}",
            reverse("audit_child", args=[child.public_id]),
            reverse("audit_user", args=[alice.public_id]),
            reverse("retention_review"),
        ],
    )
