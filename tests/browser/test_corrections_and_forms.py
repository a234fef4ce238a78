"""In a real browser, with axe-core on each new page: a worker corrects an entry
from its chronology row, records a structured neglect assessment, and adds an
adult flagged as a risk to children with the reason."""

import datetime

import pytest
from django.urls import reverse

from chronology import services
from chronology.models import Adult, Amendment, Entry
from chronology.vocabulary import EntryKind

from .conftest import assert_accessible
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_worker_corrects_an_entry_and_sees_the_original_beside_it(
    live_server, new_page, alice, child
):
    entry = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=datetime.date(2026, 3, 2),
        categories=["neglect.nutrition"],
        severity=2,
        summary="Robin hungry at school",
    )
    page = new_page()
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("child_chronology", args=[child.public_id]))
    page.click("a:has-text('Correct')")
    page.wait_for_selector("h1:has-text('Correct an entry')")
    assert "Robin hungry at school" in page.inner_text(".app-original")
    assert_accessible(page)

    # Sent without a choice or a reason: both errors are named.
    page.click("main form button[type=submit]")
    page.wait_for_selector(".govuk-error-summary")
    summary = page.inner_text(".govuk-error-summary")
    assert "Select whether to correct the entry" in summary
    assert "Say why the entry is being corrected." in summary
    assert_accessible(page)

    page.check("#id_what_0")
    page.fill("#id_reason", "Robin said lunch, not breakfast")
    page.fill("#id_summary", "Robin hungry at school after missing lunch")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".govuk-notification-banner, .app-amendment")
    text = page.inner_text("main")
    assert "Robin hungry at school after missing lunch" in text
    page.click(".app-amendment summary")
    assert "Original entry, 2 March 2026: Robin hungry at school" in page.inner_text(
        ".app-amendment"
    )
    assert Amendment.objects.get(entry=entry).reason == "Robin said lunch, not breakfast"

    # An entry marked entered in error stays on the page, struck through, with the reason.
    wrong = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2026, 3, 3),
        summary="Note about another child",
    )
    services.entry_mark_entered_in_error(actor=alice, entry=wrong, reason="Wrong child")
    page.goto(live_server.url + reverse("child_chronology", args=[child.public_id]))
    assert "Wrong child" in page.inner_text("#in-error")
    assert_accessible(page)


def test_a_worker_records_a_structured_neglect_assessment(live_server, new_page, alice, child):
    page = new_page()
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("child_detail", args=[child.public_id]))
    page.click("a:has-text('Record a neglect assessment')")
    page.wait_for_selector("h1:has-text('Record a neglect assessment')")
    assert_accessible(page)
    page.fill("#id_event_date", "2026-10-01")
    page.check("input[name=grade_nutrition][value='4']")
    page.check("input[name=grade_home_conditions][value='3']")
    page.fill("#id_note", "Graded at a home visit with the mother")
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server.url + reverse("child_detail", args=[child.public_id]))
    assessment = Entry.objects.get(kind="assessment")
    assert assessment.scores == {"nutrition": 4, "home_conditions": 3}
    page.goto(live_server.url + reverse("child_score", args=[child.public_id]))
    assert "the latest assessment graded it 4 of 5" in page.inner_text("#domains")


def test_a_worker_adds_an_adult_flagged_as_a_risk_with_the_reason(
    live_server, new_page, alice, child
):
    page = new_page()
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("child_detail", args=[child.public_id]))
    page.click("a:has-text('Add a linked adult')")
    page.wait_for_selector("h1:has-text('Add a linked adult')")
    assert_accessible(page)
    page.fill("#id_name", "Dale Synthetic")
    page.select_option("#id_relationship", "mothers_partner")
    page.check("#id_poses_risk_to_children")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".govuk-error-summary")
    assert "Say why this adult is a risk to children." in page.inner_text(".govuk-error-summary")
    assert_accessible(page)
    page.fill("#id_risk_reason", "Convicted of harming a child in 2019")
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server.url + reverse("child_detail", args=[child.public_id]))
    linked = page.inner_text("main")
    assert "Dale Synthetic (mother's partner)" in linked and "Risk to children" in linked
    assert Adult.objects.get(name="Dale Synthetic").poses_risk_to_children

    # The flag page, for an adult already linked, passes axe too.
    page.click("a:has-text('Flag an adult as a risk to children')")
    page.wait_for_selector("h1:has-text('Flag an adult')")
    assert_accessible(page)
