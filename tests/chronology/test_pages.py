"""The browser pages: home by role, search, the child page and its chronology, the
forms, the neglect maps, the handover summary and the exports.

Every page that shows a child answers 404 to an outsider and sends an anonymous
visitor to sign in."""

import csv
import datetime
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.models import AuditEvent, Entry, NotificationAck
from chronology.vocabulary import EntryKind, Status
from escalation.services import child_evaluate
from neglect_tool.selectors import neglect_map, neglect_maps
from tests.factories import UserFactory

from .test_child_page import record_concerns

CHILD_PAGES = [
    "child_detail",
    "child_chronology",
    "entry_create",
    "visit_create",
    "decision_create",
    "handover",
    "export_options",
    "export_pdf",
    "export_csv",
    "export_json",
    "neglect_map",
    "household_map",
]


@pytest.fixture
def sibling(alice, school, child):
    household = services.household_create(actor=alice, name="Synthetic family", children=[child])
    sibling = services.child_create(
        actor=alice, given_names="Sky", family_name="Synthetic", household=household
    )
    child.refresh_from_db()
    return sibling


def url(name, child):
    return reverse(name, args=[child.public_id])


# --- access -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHILD_PAGES)
def test_an_outsider_gets_404_on_every_child_page_and_leaves_only_the_refusal_in_the_log(
    client, charlie, child, name
):
    client.force_login(charlie)
    before = AuditEvent.objects.count()
    assert client.get(url(name, child)).status_code == 404
    [row] = AuditEvent.objects.order_by("pk")[before:]
    assert (row.action, row.actor, row.child) == ("access.denied", charlie, child)


@pytest.mark.parametrize("name", CHILD_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_child_page(client, child, name):
    response = client.get(url(name, child))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["home", "child_list", "child_search", "concern_create"])
def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_other_page(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["entry_create", "visit_create", "decision_create"])
def test_an_outsider_cannot_post_an_entry(client, charlie, child, name):
    client.force_login(charlie)
    response = client.post(url(name, child), {"summary": "x", "event_date": "2026-01-01"})
    assert response.status_code == 404
    assert not Entry.objects.exists()


def test_an_outsider_cannot_record_a_concern_about_a_child_they_do_not_see(client, charlie, child):
    client.force_login(charlie)
    response = client.post(
        reverse("concern_create"),
        {
            "child": str(child.public_id),
            "event_date": "2026-01-05",
            "categories": ["neglect.hygiene"],
            "summary": "Smelly clothes",
        },
    )
    assert response.status_code == 200
    assert "Select the pupil." in response.content.decode()
    assert not Entry.objects.exists()


def test_sign_in_errors_are_named(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Enter a correct username and password" in page


# --- home pages by role --------------------------------------------------------------------


def test_a_social_workers_home_is_their_caseload(client, alice, child):
    other = services.child_create(actor=alice, given_names="Ash", family_name="Other")
    services.worker_allocate(actor=alice, child=child, worker=alice)
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert "My caseload" in page
    allocated, everyone = page.split("All children your agency works with")
    assert "Robin Synthetic" in allocated and "Ash Other" not in allocated
    assert "Robin Synthetic" in everyone and "Ash Other" in everyone
    assert other.full_name in everyone


def test_a_school_leads_home_is_my_pupils_with_levels(client, bob, child):
    record_concerns(bob, child, 3, start=timezone.localdate() - datetime.timedelta(days=10))
    child_evaluate(child_id=child.pk)  # the worker's evaluation after the entries commit
    client.force_login(bob)
    page = client.get(reverse("home")).content.decode()
    assert "My pupils" in page and "Robin Synthetic" in page and "Early help" in page
    assert reverse("concern_create") in page


def test_a_managers_home_groups_children_by_level(client, mallory, alice, child):
    record_concerns(alice, child, 8, start=timezone.localdate() - datetime.timedelta(days=20))
    child_evaluate(child_id=child.pk)  # the worker's evaluation after the entries commit
    client.force_login(mallory)
    page = client.get(reverse("home"), {"level": "3"}).content.decode()
    assert page.index("Level 3: targeted") < page.index("Robin Synthetic")
    assert reverse("escalation_dashboard") in page


def test_an_admins_home_links_to_configuration_and_no_children(client, ada, child):
    client.force_login(ada)
    page = client.get(reverse("home")).content.decode()
    assert reverse("admin:agencies_user_changelist") in page
    assert "Robin" not in page


def test_an_auditors_home_says_what_they_can_do(client, auditor, child):
    client.force_login(auditor)
    page = client.get(reverse("home")).content.decode()
    assert "auditor" in page and "Robin" not in page


# --- search ----------------------------------------------------------------------------------


def test_search_finds_by_name_date_of_birth_and_nhs_number_only_among_visible_children(
    client, alice, charlie, child
):
    child.date_of_birth = datetime.date(2016, 3, 14)
    child.nhs_number = "9434765919"
    child.save()
    services.child_create(actor=charlie, given_names="Robin", family_name="Hidden")
    client.force_login(alice)
    for query in ["robin", "Synthetic Robin", "14/03/2016", "2016-03-14", "943 476 5919"]:
        page = client.get(reverse("child_search"), {"q": query}).content.decode()
        assert "Robin Synthetic" in page, query
        assert "Hidden" not in page, query
    page = client.get(reverse("child_search"), {"q": "nobody"}).content.decode()
    assert "0 children found" in page


# --- the child page ----------------------------------------------------------------------


def test_the_child_page_shows_identity_adults_status_words_and_chronology(
    client, alice, bob, child
):
    services.adult_link(actor=alice, child=child, relationship="mother", name="Dana Synthetic")
    services.status_change(
        actor=alice, child=child, status=Status.CHILD_IN_NEED, on=datetime.date(2025, 6, 1)
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CHILD_VOICE,
        event_date=datetime.date(2025, 7, 1),
        summary="Robin talked at break",
        child_words="There is no food at home",
        categories=["neglect.nutrition"],
    )
    client.force_login(alice)
    page = client.get(url("child_detail", child)).content.decode()
    assert "Dana Synthetic (mother)" in page
    assert "Child in need" in page and "1 June 2025 to now" in page
    assert page.count("There is no food at home") == 2  # words section and the chronology
    assert "<svg" in page and "Neglect score over 12 months" in page


def test_the_chronology_filters_orders_and_shows_significant_events(client, alice, bob, child):
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=datetime.date(2026, 1, 5),
        summary="Minor school concern",
        severity=1,
        categories=["neglect.hygiene"],
    )
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=datetime.date(2026, 2, 5),
        summary="Serious home visit concern",
        severity=4,
        categories=["neglect.home_conditions"],
    )
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.REFERRAL,
        event_date=datetime.date(2026, 3, 5),
        summary="Referral to early help",
    )
    client.force_login(alice)
    base = url("child_chronology", child)

    def shown(**params):
        page = client.get(base, params).content.decode()
        return [s for s in ["Minor school", "Serious home", "Referral to"] if s in page]

    assert shown() == ["Minor school", "Serious home", "Referral to"]
    page = client.get(base).content.decode()
    assert page.index("Referral to") < page.index("Minor school")  # newest first
    page = client.get(base, {"order": "oldest"}).content.decode()
    assert page.index("Minor school") < page.index("Referral to")
    assert shown(agency="school") == ["Minor school"]
    assert shown(kind="referral") == ["Referral to"]
    assert shown(category="neglect.home_conditions") == ["Serious home"]
    assert shown(severity="3") == ["Serious home"]
    assert shown(date_from="2026-02-01", date_to="2026-02-28") == ["Serious home"]
    assert shown(view="significant") == ["Serious home", "Referral to"]
    assert shown(severity="not a number") == ["Minor school", "Serious home", "Referral to"]


def test_an_entry_about_siblings_is_marked_shared(client, alice, child, sibling):
    services.entry_record(
        actor=alice,
        children=[child, sibling],
        kind=EntryKind.VISIT,
        event_date=datetime.date(2026, 1, 5),
        summary="Home visit to both",
    )
    client.force_login(alice)
    assert "Shared with 1 sibling" in client.get(url("child_detail", child)).content.decode()


def test_an_amended_entry_shows_beside_its_correction(client, alice, child):
    entry = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.VISIT,
        event_date=datetime.date(2026, 1, 5),
        summary="Visited on Monday",
    )
    services.entry_amend(actor=alice, entry=entry, reason="Wrong day", summary="Visited on Tuesday")
    client.force_login(alice)
    page = client.get(url("child_detail", child)).content.decode()
    assert "Visited on Tuesday" in page
    assert "Wrong day" in page and "Original entry, 5 January 2026: Visited on Monday" in page


def test_the_chronology_is_paginated_50_a_page(client, alice, child):
    record_concerns(alice, child, 120)
    client.force_login(alice)
    first = client.get(url("child_detail", child)).content.decode()
    assert first.count("No breakfast, day") == 50
    assert "Showing entries 1 to 50 of 120" in first
    assert url("child_chronology", child) + "?page=2" in first
    last = client.get(url("child_chronology", child), {"page": 3}).content.decode()
    assert last.count("No breakfast, day") == 20


@pytest.mark.parametrize("count", [5, 500])
def test_the_child_page_runs_at_most_15_queries_for_5_or_500_entries(
    client, alice, child, count, django_assert_max_num_queries
):
    record_concerns(alice, child, count)
    client.force_login(alice)
    with django_assert_max_num_queries(15):
        response = client.get(url("child_detail", child))
    assert response.status_code == 200
    with django_assert_max_num_queries(15):
        page = 2 if count > 50 else 1
        response = client.get(url("child_chronology", child), {"page": page, "kind": "concern"})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "child_chronology",
        "handover",
        "neglect_map",
        "household_map",
        "export_options",
        "entry_create",
        "export_pdf",
        "export_csv",
        "export_json",
    ],
)
def test_the_other_child_pages_run_at_most_15_queries_for_500_entries(
    client, alice, child, sibling, name, django_assert_max_num_queries
):
    record_concerns(alice, child, 500)
    client.force_login(alice)
    with django_assert_max_num_queries(15):
        assert client.get(url(name, child)).status_code == 200


def test_each_page_audits_the_read(client, alice, child, sibling):
    client.force_login(alice)
    for name in ["child_detail", "child_chronology", "handover", "neglect_map", "entry_create"]:
        client.get(url(name, child))
    assert AuditEvent.objects.filter(action="child.view", child=child, actor=alice).count() == 5
    client.get(url("household_map", child))
    assert AuditEvent.objects.filter(action="child.view", child=sibling).count() == 1


# --- recording ---------------------------------------------------------------------------


def test_a_valid_entry_is_recorded_through_the_service_and_shown(client, alice, child):
    client.force_login(alice)
    response = client.post(
        url("entry_create", child),
        {
            "kind": "concern",
            "event_date": "2026-01-05",
            "date_precision": "day",
            "categories": ["neglect.nutrition", "neglect.hygiene"],
            "severity": "2",
            "summary": "Hungry at breakfast club",
            "child_words": "I didn't have tea",
            "action": "Spoke to mum",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Entry recorded for Robin Synthetic" in page and "data-draft-saved" in page
    entry = Entry.objects.get()
    assert (entry.author, entry.kind, entry.severity) == (alice, "concern", 2)
    assert entry.categories == ["neglect.nutrition", "neglect.hygiene"]
    assert AuditEvent.objects.filter(action="entry.record", child=child).exists()


def test_errors_are_listed_in_a_summary_naming_each_field(client, alice, child):
    client.force_login(alice)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    page = client.post(
        url("entry_create", child), {"kind": "concern", "event_date": tomorrow, "summary": ""}
    ).content.decode()
    assert "There is a problem" in page
    assert 'href="#id_event_date"' in page and "The date cannot be in the future." in page
    assert 'href="#id_summary"' in page and "Say what happened." in page
    assert 'href="#id_date_precision_0"' in page
    assert "data-draft-bound" in page
    assert not Entry.objects.exists()


def test_a_school_lead_records_a_concern_about_a_pupil(client, bob, child):
    client.force_login(bob)
    page = client.get(reverse("concern_create")).content.decode()
    assert "Robin Synthetic" in page
    response = client.post(
        reverse("concern_create"),
        {
            "child": str(child.public_id),
            "event_date": "2026-01-05",
            "categories": ["neglect.clothing"],
            "summary": "No coat in the snow",
            "child_words": "Mum said I don't need one",
            "action": "Gave a coat from lost property",
        },
    )
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert (entry.kind, entry.agency, entry.author) == ("concern", bob.agency, bob)


def test_a_concern_needs_a_category(client, bob, child):
    client.force_login(bob)
    page = client.post(
        reverse("concern_create"),
        {"child": str(child.public_id), "event_date": "2026-01-05", "summary": "Seen"},
    ).content.decode()
    assert "Select at least one category." in page and 'href="#id_categories_0"' in page


def test_a_social_worker_records_a_visit(client, alice, child):
    client.force_login(alice)
    response = client.post(
        url("visit_create", child),
        {"event_date": "2026-01-05", "summary": "Home visit, Robin seen alone"},
    )
    assert response.status_code == 302
    assert Entry.objects.get().kind == "visit"


def test_a_multi_agency_decision_records_type_agencies_outcome_and_actions(
    client, alice, child, social_care, school
):
    client.force_login(alice)
    response = client.post(
        url("decision_create", child),
        {
            "decision_type": "strategy_discussion",
            "event_date": "2026-01-05",
            "agencies_present": [social_care.code, school.code],
            "decision_outcome": "section_47_enquiry",
            "summary": "Strategy discussion after the school's concerns",
            "decision_notes": "Visit within 24 hours: A. Worker, by 6 January",
        },
    )
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert (entry.kind, entry.decision_type, entry.decision_outcome) == (
        "decision",
        "strategy_discussion",
        "section_47_enquiry",
    )
    assert set(entry.agencies_present.values_list("code", flat=True)) == {"sc", "school"}
    page = client.get(url("child_detail", child)).content.decode()
    assert "Strategy discussion: Section 47 enquiry" in page


# --- maps, handover, export --------------------------------------------------------------


def test_the_neglect_map_has_svg_with_title_desc_and_a_table(client, alice, child):
    record_concerns(alice, child, 5, start=timezone.localdate() - datetime.timedelta(days=40))
    client.force_login(alice)
    page = client.get(url("neglect_map", child)).content.decode()
    assert page.count('role="img"') == 2
    assert "<desc" in page and "Neglect map for Robin Synthetic" in page
    assert "Number of entries by agency and severity" in page
    assert "Children&#x27;s social care" in page or "Children's social care" in page


def test_the_household_map_shows_only_siblings_the_user_may_see(client, alice, bob, child, sibling):
    client.force_login(alice)
    page = client.get(url("household_map", child)).content.decode()
    assert "Neglect map for Robin Synthetic" in page and "Neglect map for Sky Synthetic" in page
    client.force_login(bob)  # the school is involved with Robin, not with Sky
    page = client.get(url("household_map", child)).content.decode()
    assert "Robin Synthetic" in page and "Sky" not in page


def test_batched_household_maps_match_each_childs_map(alice, child, sibling):
    record_concerns(alice, child, 30, start=datetime.date(2025, 1, 1))
    record_concerns(alice, sibling, 10, start=datetime.date(2025, 6, 1))
    start, end = datetime.date(2025, 1, 1), datetime.date(2026, 6, 30)
    assert neglect_maps([child, sibling], start, end) == [
        neglect_map(child, start, end),
        neglect_map(sibling, start, end),
    ]


def test_the_handover_shows_plans_referrals_outcomes_words_and_allocations(
    client, alice, bob, child
):
    services.status_change(
        actor=alice, child=child, status=Status.CHILD_PROTECTION_PLAN, on=datetime.date(2025, 9, 1)
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.REFERRAL,
        event_date=datetime.date(2025, 8, 1),
        summary="School referral about hunger",
    )
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.DECISION,
        decision_type="child_protection_conference",
        decision_outcome="child_protection_plan",
        event_date=datetime.date(2025, 8, 28),
        summary="Initial conference",
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CHILD_VOICE,
        event_date=datetime.date(2025, 8, 2),
        summary="Said at lunch",
        child_words="My tummy hurts",
    )
    services.worker_allocate(actor=alice, child=child, worker=alice, on=datetime.date(2025, 8, 2))
    client.force_login(alice)
    page = client.get(url("handover", child)).content.decode()
    assert "Child protection plan" in page and "1 September 2025 to now" in page
    assert page.index("School referral about hunger") < page.index("Initial conference")
    assert "My tummy hurts" in page
    assert "Who has held the case" in page and "alice" in page
    assert "Neglect map for Robin Synthetic" in page


def test_csv_and_json_exports_are_audited_and_not_cached(client, alice, child):
    record_concerns(alice, child, 3)
    client.force_login(alice)
    response = client.get(url("export_csv", child))
    assert response["Cache-Control"] == "no-store" or "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 4
    response = client.get(url("export_json", child))
    assert "no-store" in response["Cache-Control"]
    assert len(json.loads(response.content)["events"]) == 3
    assert AuditEvent.objects.filter(action="export", child=child).count() == 2


def test_the_pdf_export_is_audited_and_can_redact_adults_names(client, alice, child):
    services.adult_link(actor=alice, child=child, relationship="mother", name="Dana Smith")
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.VISIT,
        event_date=datetime.date(2026, 1, 5),
        summary="Dana Smith was asleep; Dana said Robin was at school",
    )
    client.force_login(alice)
    response = client.get(url("export_pdf", child))
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    redacted = client.get(url("export_pdf", child), {"redact": "on"})
    assert redacted.content.startswith(b"%PDF")
    events = AuditEvent.objects.filter(action="child.export", child=child).order_by("id")
    assert [e.details["redacted"] for e in events] == [False, True]


def test_the_pdf_names_codes_and_shows_the_level_score_and_domains(client, alice, bob, child):
    from django.template.loader import render_to_string

    from tests.words import problems_in

    services.adult_link(
        actor=alice, child=child, relationship="maternal_grandmother", name="Dana Smith"
    )
    record_concerns(bob, child, 3, start=timezone.localdate() - datetime.timedelta(days=30))
    services.status_change(actor=alice, child=child, status=Status.CHILD_IN_NEED)
    client.force_login(alice)
    for redact in ("", "on"):
        response = client.get(url("export_pdf", child), {"redact": redact})
        assert response.content.startswith(b"%PDF")
        html = render_to_string("chronology/export_pdf.html", response.context.flatten())
        text = " ".join(re.sub(r"<[^>]+>", " ", html.split("<body>")[1]).split())
        score = response.context["score"]
        assert f"Level {score.level}: {score.level_name} (score {score.total:.1f}," in text
        assert f"Nutrition: 3 concerns from {bob.agency.name} in the last year" in text
        assert "Child in need: " in text and "to now (current)" in text
        assert "(maternal grandmother)" in text
        assert "Neglect: nutrition" in text
        assert not problems_in(text), problems_in(text)
        assert ("Dana Smith" in text) is (not redact)


def test_redaction_replaces_full_and_given_names_but_not_the_childs(db):
    from chronology.models import Adult
    from safeguarding.case_views import Redactor

    adults = [Adult(pk=1, name="Dana Smith"), Adult(pk=2, name="Robin Jones")]
    redact = Redactor(adults, ["Robin Smith"])
    text = "Dana Smith and dana argued; Robin Jones left. Robin was upset."
    assert redact(text) == "Adult 1 and Adult 1 argued; Adult 2 left. Robin was upset."


def test_another_agencys_worker_in_the_same_role_is_still_an_outsider(client, child, housing):
    other = UserFactory(username="dee", agency=housing)
    client.force_login(other)
    assert client.get(url("child_detail", child)).status_code == 404


def test_a_page_past_the_end_goes_back_to_the_first_page_keeping_the_filters(client, alice, child):
    record_concerns(alice, child, 3)
    client.force_login(alice)
    response = client.get(url("child_chronology", child), {"page": "4", "kind": "concern"})
    assert response.status_code == 302
    assert response["Location"].endswith("?kind=concern#chronology")


def test_filters_sent_to_the_child_page_go_to_the_chronology_page(client, alice, child):
    client.force_login(alice)
    response = client.get(url("child_detail", child), {"kind": "visit", "page": "2"})
    assert response.status_code == 302
    assert response["Location"] == url("child_chronology", child) + "?kind=visit&page=2#chronology"


def test_the_heat_map_legend_classes_match_the_chart_colours():
    from pathlib import Path

    from neglect_tool.charts import BANDS

    css = (Path(__file__).resolve().parents[2] / "static/css/app.css").read_text()
    for i, (_, fill, _) in enumerate(BANDS):
        assert f".app-band--{i} {{ background: {fill}; }}" in css


@pytest.mark.parametrize("user", ["alice", "bob", "mallory"])
def test_home_pages_run_at_most_15_queries_whatever_the_caseload(
    client, request, alice, child, user, django_assert_max_num_queries
):
    for n in range(20):
        other = services.child_create(actor=alice, given_names=f"Kid{n}", family_name="Load")
        services.worker_allocate(actor=alice, child=other, worker=alice)
        record_concerns(alice, other, 3)
    client.force_login(request.getfixturevalue(user))
    with django_assert_max_num_queries(15):
        assert client.get(reverse("home")).status_code == 200


# --- notifications -------------------------------------------------------------------------


@pytest.fixture
def police_notice(alice, child, db):
    from tests.factories import AgencyFactory

    police = AgencyFactory(code="police", name="Police")
    officer = UserFactory(username="pc", agency=police)
    services.involvement_grant(actor=alice, child=child, agency=police, reason="DA incident")
    return services.entry_record(
        actor=officer,
        children=[child],
        kind=EntryKind.NOTIFICATION,
        event_date=datetime.date(2026, 1, 10),
        summary="Domestic abuse incident at home overnight; children present",
        categories=["domestic_abuse"],
    )


def test_a_school_lead_sees_and_acknowledges_a_police_notification(
    client, bob, child, police_notice, django_assert_max_num_queries
):
    client.force_login(bob)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("notification_inbox")).content.decode()
    assert "Waiting for acknowledgement (1)" in page and "Domestic abuse incident" in page
    assert AuditEvent.objects.filter(action="child.view", child=child, actor=bob).exists()
    ack = reverse("notification_acknowledge", args=[police_notice.public_id])
    response = client.post(ack, follow=True)
    page = response.content.decode()
    assert "Waiting for acknowledgement (0)" in page and "acknowledged" in page
    assert NotificationAck.objects.get(entry=police_notice).acknowledged_by == bob
    assert AuditEvent.objects.filter(action="notification.acknowledge", child=child).exists()


def test_an_outsider_cannot_see_or_acknowledge_a_notification(client, charlie, police_notice):
    client.force_login(charlie)
    assert "Domestic abuse" not in client.get(reverse("notification_inbox")).content.decode()
    ack = reverse("notification_acknowledge", args=[police_notice.public_id])
    assert client.post(ack).status_code == 404
    assert not NotificationAck.objects.exists()


def test_an_anonymous_visitor_cannot_acknowledge(client, police_notice):
    ack = reverse("notification_acknowledge", args=[police_notice.public_id])
    response = client.post(ack)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.get(reverse("notification_inbox"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
