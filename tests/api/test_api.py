"""The REST API: the same access, validation and audit as the pages."""

import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from chronology import services
from chronology.models import AuditEvent, Entry
from chronology.vocabulary import EntryKind
from tests.factories import api_key_for

D = datetime.date


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api


def concern(actor, child, day, **extra):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.nutrition"],
        severity=2,
        event_date=day,
        summary="No breakfast",
        **extra,
    )


def child_urls(child):
    return [
        reverse("api_child_detail", args=[child.public_id]),
        reverse("api_entry_list", args=[child.public_id]),
        reverse("api_child_score", args=[child.public_id]),
    ]


def test_anonymous_callers_get_401_everywhere(api, child):
    for url in [
        reverse("api_child_list"),
        reverse("api_alert_list"),
        reverse("api_schema"),
        *child_urls(child),
    ]:
        assert api.get(url).status_code == 401, url


def test_an_outsider_gets_404_for_the_child_and_everything_under_it(api, charlie, child):
    as_user(api, charlie)
    for url in child_urls(child):
        assert api.get(url).status_code == 404, url
    post = api.post(reverse("api_entry_list", args=[child.public_id]), {}, format="json")
    assert post.status_code == 404
    assert child.public_id.hex not in json.dumps(api.get(reverse("api_child_list")).json())


def test_a_system_creates_an_entry_with_a_token_and_it_is_audited_with_the_request_id(
    api, bob, child
):
    as_user(api, bob)
    response = api.post(
        reverse("api_entry_list", args=[child.public_id]),
        {
            "kind": "concern",
            "event_date": "2026-03-02",
            "categories": ["neglect.hygiene"],
            "severity": 2,
            "summary": "Head lice again",
            "child_words": "It itches all the time",
        },
        format="json",
        HTTP_X_REQUEST_ID="mis-request-000123",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["categories"] == ["neglect.hygiene"]
    assert response["X-Request-ID"] == "mis-request-000123"
    row = AuditEvent.objects.get(action="entry.record")
    assert (row.actor, row.request_id) == (bob, "mis-request-000123")


def test_bad_input_gets_400_naming_the_field_and_saves_nothing(api, bob, child):
    as_user(api, bob)
    response = api.post(
        reverse("api_entry_list", args=[child.public_id]),
        {
            "kind": "gossip",
            "event_date": "2026-02-30",
            "summary": "x",
            "categories": ["neglect.food"],
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"kind", "event_date", "categories"}
    assert not Entry.objects.exists()


def test_a_service_rule_refused_is_also_400_naming_the_field(api, bob, child):
    as_user(api, bob)
    response = api.post(
        reverse("api_entry_list", args=[child.public_id]),
        {"kind": "status", "event_date": "2026-02-03", "summary": "Plan", "status": "adopted"},
        format="json",
    )
    assert response.status_code == 400 and "status" in response.json()


def test_the_chronology_lists_are_paginated_filtered_and_a_fixed_number_of_queries(
    api, alice, bob, child, django_assert_max_num_queries
):
    for n in range(60):
        concern(bob if n % 2 else alice, child, D(2026, 1, 1) + datetime.timedelta(days=n))
    as_user(api, alice)
    url = reverse("api_entry_list", args=[child.public_id])
    with django_assert_max_num_queries(15):
        first = api.get(url).json()
    assert first["count"] == 60 and len(first["results"]) == 50
    assert first["results"][0]["event_date"] == "2026-03-01"  # newest first
    only_school = api.get(url, {"agency": bob.agency.code}).json()
    assert only_school["count"] == 30
    assert api.get(url, {"severity": 9}).status_code == 400


def test_an_amendment_and_a_decision_through_the_api(api, alice, bob, child):
    entry = concern(bob, child, D(2026, 3, 2))
    as_user(api, bob)
    amended = api.post(
        reverse("api_entry_amend", args=[entry.public_id]),
        {"reason": "Wrong day", "event_date": "2026-03-03"},
        format="json",
    )
    assert amended.status_code == 201 and amended.json()["amends"] == str(entry.public_id)
    as_user(api, alice)
    decided = api.post(
        reverse("api_decision_create", args=[child.public_id]),
        {
            "event_date": "2026-03-10",
            "decision_type": "strategy_discussion",
            "decision_outcome": "section_47_enquiry",
            "agencies_present": ["sc", "school"],
            "summary": "Strategy discussion",
        },
        format="json",
    )
    assert decided.status_code == 201
    unknown = api.post(
        reverse("api_decision_create", args=[child.public_id]),
        {
            "event_date": "2026-03-10",
            "decision_type": "strategy_discussion",
            "decision_outcome": "monitor",
            "agencies_present": ["nobody"],
            "summary": "x",
        },
        format="json",
    )
    assert unknown.status_code == 400 and "agencies_present" in unknown.json()


def test_the_score_comes_with_contributions_that_add_up(api, alice, bob, child):
    concern(bob, child, D(2026, 1, 10))
    concern(alice, child, D(2026, 2, 1))
    as_user(api, alice)
    score = api.get(
        reverse("api_child_score", args=[child.public_id]), {"as_of": "2026-03-01"}
    ).json()
    assert len(score["contributions"]) == 2
    assert sum(Decimal(c["value"]) for c in score["contributions"]) == Decimal(score["total"])
    assert AuditEvent.objects.filter(action="score.view", child=child).count() == 1


def test_alerts_are_listed_and_acknowledged_with_if_match(api, bob, charlie, alert):
    as_user(api, bob)
    listed = api.get(reverse("api_alert_list")).json()
    assert [a["id"] for a in listed["results"]] == [str(alert.public_id)]
    detail = api.get(reverse("api_alert_detail", args=[alert.public_id]))
    etag = detail["ETag"]
    url = reverse("api_alert_acknowledge", args=[alert.public_id])
    done = api.post(url, {"reason": "On it"}, format="json", HTTP_IF_MATCH=etag)
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    stale = api.post(url, {"reason": "Again"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    as_user(api, charlie)
    assert api.get(reverse("api_alert_detail", args=[alert.public_id])).status_code == 404
    assert api.get(reverse("api_alert_list")).json()["count"] == 0


def test_only_a_manager_resolves_an_alert_through_the_api(api, bob, mallory, alert):
    url = reverse("api_alert_resolve", args=[alert.public_id])
    as_user(api, bob)
    assert api.post(url, {"reason": "x" * 25}, format="json").status_code == 403
    as_user(api, mallory)
    assert (
        api.post(url, {"reason": "Case closed after transfer out"}, format="json").status_code
        == 200
    )


def test_a_school_imports_its_own_events_but_not_another_agencys(api, bob, child, tmp_path):
    child.ref = "P-1001"
    child.save()
    as_user(api, bob)
    rows = (
        "date,date_precision,agency,children,kind,categories,severity,summary,"
        "child_words,action,status\n"
    )
    good = rows + "2026-02-02,day,school,P-1001,concern,neglect.clothing,1,Shoes with holes,,,\n"
    bad = rows + "2026-02-02,day,police,P-1001,concern,neglect.clothing,1,Planted,,,\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    refused = api.post(
        reverse("api_import"),
        {"file": SimpleUploadedFile("bad.csv", bad.encode())},
        format="multipart",
    )
    assert refused.status_code == 400 and "police" in refused.json()["file"][0]
    accepted = api.post(
        reverse("api_import"),
        {"file": SimpleUploadedFile("good.csv", good.encode())},
        format="multipart",
    )
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["entries"] == 1
    assert AuditEvent.objects.filter(action="import.request", actor=bob).count() == 1


def test_a_practitioner_cannot_import(api, alice):
    as_user(api, alice)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(
        reverse("api_import"), {"file": SimpleUploadedFile("x.json", b"{}")}, format="multipart"
    )
    assert response.status_code == 403


def test_the_schema_and_docs_are_served_to_signed_in_users(api, alice):
    as_user(api, alice)
    schema = api.get(reverse("api_schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/children/{child_id}/entries/" in schema.json()["paths"]
    api.force_authenticate(alice)
    assert api.get(reverse("api_docs")).status_code == 200


def test_responses_with_child_data_are_never_cached(api, alice, child):
    as_user(api, alice)
    response = api.get(reverse("api_child_detail", args=[child.public_id]))
    assert response["Cache-Control"] == "no-store"


def test_a_thousand_reads_give_a_thousand_audit_rows(api, alice, child, settings):
    # A thousand reads in a few seconds is more than one user may make (throttling).
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2000/min", "anon": "60/min"},
    }
    as_user(api, alice)
    url = reverse("api_child_detail", args=[child.public_id])
    before = AuditEvent.objects.filter(action="child.view").count()
    for _ in range(1000):
        assert api.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="child.view").count() - before == 1000
