"""Journeys walked in a real browser, with axe-core on every page on the way.

A school lead records a concern with the keyboard alone; the social worker then
finds it in the child's chronology. (The escalation part of the chain, the
manager's alert and the decision that clears it, comes with the escalation pages.)
"""

import datetime

import pytest
from django.urls import reverse

from agencies.models import Role
from chronology import services
from chronology.models import Entry
from chronology.vocabulary import EntryKind, Status
from tests.factories import PASSWORD, UserFactory

from .conftest import assert_accessible, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def family(alice, bob, child):
    """Robin (known to the school and social care) and a sibling, with some history."""
    household = services.household_create(actor=alice, name="Synthetic family", children=[child])
    sibling = services.child_create(
        actor=alice, given_names="Sky", family_name="Synthetic", household=household
    )
    services.adult_link(actor=alice, child=child, relationship="mother", name="Dana Synthetic")
    services.status_change(
        actor=alice, child=child, status=Status.CHILD_IN_NEED, on=datetime.date(2025, 6, 1)
    )
    services.worker_allocate(actor=alice, child=child, worker=alice, on=datetime.date(2025, 6, 1))
    services.entry_record(
        actor=alice,
        children=[child, sibling],
        kind=EntryKind.VISIT,
        event_date=datetime.date(2025, 9, 3),
        summary="Home visit: little food in the house",
        categories=["neglect.nutrition", "neglect.home_conditions"],
        severity=3,
        child_words="Sometimes we just have crisps for tea",
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.REFERRAL,
        event_date=datetime.date(2025, 10, 1),
        summary="School referral: Robin hungry most mornings",
        categories=["neglect.nutrition"],
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.NOTIFICATION,
        event_date=datetime.date(2025, 10, 2),
        summary="School tells social care: Robin says there was shouting at home last night",
        categories=["domestic_abuse"],
    )
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.DECISION,
        decision_type="strategy_discussion",
        decision_outcome="child_in_need",
        event_date=datetime.date(2025, 10, 8),
        summary="Strategy discussion",
    )
    child.refresh_from_db()
    return child


def sign_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + reverse("home"))


def test_a_school_lead_records_a_concern_with_the_keyboard_and_the_social_worker_sees_it(
    live_server, new_page, alice, bob, family
):
    child = family
    page = new_page()

    # Sign in, first with a wrong password: the error is named.
    page.goto(live_server.url + reverse("home"))
    page.wait_for_url("**/login/**")
    tab_to(page, "#id_username")
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    page.wait_for_selector(".govuk-error-summary")
    assert "Enter a correct username and password" in page.inner_text(".govuk-error-summary")
    assert_accessible(page)
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('My pupils')")
    assert "Robin Synthetic" in page.inner_text("main")
    assert_accessible(page)

    # Record a concern, keyboard only.
    tab_to(page, f"main a.govuk-button[href='{reverse('concern_create')}']")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Record a concern')")
    assert_accessible(page)
    tab_to(page, "#id_child")
    page.keyboard.type("Robin")
    tab_to(page, "input[name=categories][value='neglect.clothing']")
    page.keyboard.press("Space")
    tab_to(page, "#id_summary")
    page.keyboard.type("No coat again in the snow; shivering at the gate.")

    # The draft survives a reload (a timeout, a closed tab).
    page.wait_for_timeout(600)
    page.reload()
    page.wait_for_selector("[data-draft-status]:has-text('restored')")
    assert page.input_value("#id_summary").startswith("No coat again")
    assert page.is_checked("input[name=categories][value='neglect.clothing']")

    tab_to(page, "#id_child_words")
    page.keyboard.type("Mum says coats are for babies")
    tab_to(page, "#id_action")
    page.keyboard.type("Gave a coat from lost property; told social care")
    tab_to(page, "#entry-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".govuk-notification-banner--success")
    assert "Concern recorded for Robin Synthetic" in page.inner_text("main")
    assert_accessible(page)
    # The saved draft is gone.
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes('draft'))") == []
    entry = Entry.objects.get(summary__startswith="No coat again")
    assert (entry.author, entry.kind, entry.categories) == (bob, "concern", ["neglect.clothing"])

    # The social worker finds it at the top of the child's chronology.
    page = new_page()
    sign_in(page, live_server, "alice")
    page.wait_for_selector("h1:has-text('My caseload')")
    assert_accessible(page)
    page.click(f"a[href='{reverse('child_detail', args=[child.public_id])}']")
    page.wait_for_selector("h1:has-text('Robin Synthetic')")
    first_row = page.inner_text("#chronology tbody tr:first-child")
    assert "No coat again in the snow" in first_row
    assert "Primary school" in first_row
    assert "Mum says coats are for babies" in page.inner_text("main")
    assert "Shared with 1 sibling" in page.inner_text("#chronology")
    assert_accessible(page)


def test_every_page_passes_axe(live_server, new_page, alice, bob, mallory, ada, auditor, family):
    child = family
    page = new_page()
    sign_in(page, live_server, "alice")
    assert_accessible(page)
    pages = [
        reverse("child_search") + "?q=robin",
        reverse("child_detail", args=[child.public_id]),
        reverse("child_chronology", args=[child.public_id]) + "?view=significant&order=oldest",
        reverse("entry_create", args=[child.public_id]),
        reverse("visit_create", args=[child.public_id]),
        reverse("decision_create", args=[child.public_id]),
        reverse("concern_create"),
        reverse("handover", args=[child.public_id]),
        reverse("neglect_map", args=[child.public_id]),
        reverse("household_map", args=[child.public_id]),
        reverse("export_options", args=[child.public_id]),
        reverse("notification_inbox"),
    ]
    for path in pages:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert_accessible(page)
    # Acknowledge the school's notification.
    page.goto(live_server.url + reverse("notification_inbox"))
    page.click("main form button:has-text('Acknowledge')")
    page.wait_for_selector(".govuk-notification-banner--success")
    assert "Waiting for acknowledgement (0)" in page.inner_text("main")
    assert_accessible(page)
    # Forms sent back with errors.
    page.goto(live_server.url + reverse("entry_create", args=[child.public_id]))
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector(".govuk-error-summary")
    assert "Say what happened." in page.inner_text(".govuk-error-summary")
    assert_accessible(page)
    page.goto(live_server.url + reverse("decision_create", args=[child.public_id]))
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector(".govuk-error-summary")
    assert_accessible(page)
    # The other roles' home pages.
    for user in [mallory, ada, auditor]:
        other = new_page()
        sign_in(other, live_server, user.username)
        assert_accessible(other)


def test_recording_works_without_javascript(live_server, new_page, alice, family):
    child = family
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("visit_create", args=[child.public_id]))
    page.fill("#id_summary", "Visit without scripts: Robin seen alone in his room")
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector(".govuk-notification-banner--success")
    page.goto(live_server.url + reverse("child_chronology", args=[child.public_id]) + "?kind=visit")
    assert "Visit without scripts" in page.inner_text("#chronology")
    assert Entry.objects.filter(kind="visit", author=alice).count() == 2


def test_an_outsider_is_refused_in_the_browser(live_server, new_page, charlie, family):
    page = new_page()
    sign_in(page, live_server, "charlie")
    response = page.goto(live_server.url + reverse("child_detail", args=[family.public_id]))
    assert response.status == 404


def test_a_manager_sees_children_by_level(live_server, new_page, mallory, family):
    page = new_page()
    sign_in(page, live_server, "mallory")
    page.wait_for_selector("h1:has-text('Children by neglect level')")
    assert "Robin Synthetic" in page.inner_text("main")


def test_another_role_cannot_use_the_concern_form_for_other_agencies_children(
    live_server, new_page, family, housing
):
    UserFactory(username="dee", agency=housing, role=Role.SAFEGUARDING_LEAD)
    page = new_page()
    sign_in(page, live_server, "dee")
    page.goto(live_server.url + reverse("concern_create"))
    assert "Robin" not in page.inner_text("#id_child")
