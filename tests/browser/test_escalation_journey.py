"""The whole chain in a real browser: a school lead records a concern, the social
worker sees it, the manager sees the alert it completes, and a multi-agency
decision clears it. axe-core checks each escalation page on the way."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.models import Involvement
from chronology.vocabulary import EntryKind
from escalation.models import Alert, AlertStatus
from escalation.services import child_evaluate

from .conftest import assert_accessible
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def run_the_worker(child):
    """What the Celery worker does after each commit, done here in the test's
    process so the test does not depend on a worker's timing."""
    child_evaluate(child_id=child.pk)


def test_a_concern_completes_a_pattern_the_manager_sees_and_a_decision_clears(
    live_server, new_page, alice, bob, mallory, child
):
    Involvement.objects.filter(child=child).update(started_on=datetime.date(2025, 1, 1))
    today = timezone.localdate()
    for days_ago, actor in [(60, bob), (40, alice), (20, bob)]:
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=["neglect.nutrition"],
            severity=2,
            event_date=today - datetime.timedelta(days=days_ago),
            summary="Hungry at school",
        )
    run_the_worker(child)
    assert not Alert.objects.exists()  # three concerns: not yet a pattern

    # The school lead records the fourth concern.
    page = new_page()
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + reverse("concern_create"))
    page.select_option("#id_child", str(child.public_id))
    page.check("input[name=categories][value='neglect.nutrition']")
    page.fill("#id_summary", "No breakfast again; ate two portions at lunch.")
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector(".govuk-notification-banner--success")

    # The social worker sees it in the chronology.
    worker = new_page()
    sign_in(worker, live_server, "alice")
    worker.goto(live_server.url + reverse("child_detail", args=[child.public_id]))
    assert "No breakfast again" in worker.inner_text("#chronology")

    # The worker evaluates the child after the commit: the manager sees the alert.
    run_the_worker(child)
    manager = new_page()
    sign_in(manager, live_server, "mallory")
    manager.goto(live_server.url + reverse("escalation_dashboard"))
    table = manager.inner_text("main table")
    assert "Robin Synthetic" in table and "4 entries about neglect.nutrition" in table
    assert_accessible(manager)
    manager.click("main table a")
    manager.wait_for_selector("h1:has-text('Repeated concerns')")
    assert_accessible(manager)

    # The social worker records a strategy discussion with the school present.
    worker.goto(live_server.url + reverse("decision_create", args=[child.public_id]))
    worker.select_option("#id_decision_type", "strategy_discussion")
    worker.fill("#id_event_date", today.isoformat())
    worker.check(f"input[name=agencies_present][value='{alice.agency.code}']")
    worker.check(f"input[name=agencies_present][value='{bob.agency.code}']")
    worker.check("input[name=decision_outcome][value='section_47_enquiry']")
    worker.fill("#id_summary", "Strategy discussion: section 47 enquiry to start today.")
    worker.click("main form button[type=submit]")
    worker.wait_for_selector(".govuk-notification-banner--success")

    run_the_worker(child)
    alert = Alert.objects.get(child=child, rule_code="frequency-neglect")
    assert alert.status == AlertStatus.RESOLVED
    manager.reload()
    assert "Resolved: by the decision of" in manager.inner_text("main")
    manager.goto(live_server.url + reverse("escalation_dashboard"))
    assert "Robin Synthetic" not in manager.inner_text("main")
    assert_accessible(manager)
