"""Sending the same entry twice records it once: the API's Idempotency-Key header,
and the key every entry form carries. A client that got a 503, or no answer, cannot
know whether its entry was committed; with a key it can simply send it again."""

import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from chronology import services
from chronology.models import AuditEvent, Entry, EntryRequest
from chronology.vocabulary import EntryKind
from tests.api.test_ingest_path import BODY, post_entry, token_client


def keyed(api, child, key, body=BODY):
    return post_entry(api, child, body, HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_request_sent_twice_records_one_entry(bob, child):
    api = token_client(bob)
    first = keyed(api, child, "mis-export-0042")
    again = keyed(api, child, "mis-export-0042")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Entry.objects.count() == 1
    assert AuditEvent.objects.filter(action="entry.record").count() == 1
    # The repeat is in the audit trail as what it was.
    repeat = AuditEvent.objects.get(action="entry.repeat")
    assert (repeat.actor, repeat.child, repeat.object_id) == (bob, child, first.json()["id"])


def test_a_decision_sent_twice_through_the_api_is_recorded_once(alice, child):
    api = token_client(alice)
    url = reverse("api_decision_create", args=[child.public_id])
    body = {
        "event_date": "2026-03-02",
        "decision_type": "strategy_discussion",
        "decision_outcome": "section_47_enquiry",
        "agencies_present": ["sc", "school"],
        "summary": "Strategy discussion",
    }
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="strategy-1")
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="strategy-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Entry.objects.filter(kind=EntryKind.DECISION).count() == 1


def test_a_new_key_records_a_new_entry(bob, child):
    api = token_client(bob)
    keyed(api, child, "first")
    keyed(api, child, "second")
    assert Entry.objects.count() == 2


def test_the_same_key_for_a_different_entry_is_refused_and_nothing_is_saved(bob, child):
    api = token_client(bob)
    keyed(api, child, "reused")
    other = keyed(api, child, "reused", {**BODY, "summary": "Another day, another concern"})

    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()
    assert Entry.objects.count() == 1


def test_a_malformed_key_is_refused_naming_the_header(bob, child):
    for bad in ("", "has spaces", "x" * 101):
        response = keyed(token_client(bob), child, bad)
        assert response.status_code == 400, bad
        assert "Idempotency-Key" in response.json()
    assert not Entry.objects.exists()


def test_keys_belong_to_their_user(alice, bob, child):
    keyed(token_client(alice), child, "shared-key")
    response = keyed(token_client(bob), child, "shared-key")
    # Bob's request is his own: recorded, not answered with alice's entry.
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert response.json()["author"] == "bob"
    assert Entry.objects.count() == 2


def test_an_outsider_replaying_a_key_gets_404(alice, charlie, child):
    keyed(token_client(alice), child, "alice-key")
    response = keyed(token_client(charlie), child, "alice-key")
    assert response.status_code == 404
    assert Entry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_record_one_entry(alice, child):
    """The second waits on the key's unique index while the first is uncommitted,
    then answers with the first's entry."""
    fields = {
        "kind": EntryKind.CONCERN,
        "event_date": BODY["event_date"],
        "categories": ["neglect.nutrition"],
        "summary": "Sent twice at once",
    }
    first_written, may_commit = threading.Event(), threading.Event()
    results = {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = services.entry_record_once(
                    actor=alice, request_key="race", children=[child], **fields
                )
                first_written.set()
                assert may_commit.wait(10)
        finally:
            connection.close()

    def second():
        try:
            results["second"] = services.entry_record_once(
                actor=alice, request_key="race", children=[child], **fields
            )
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_written.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(1)
    assert two.is_alive(), "the second request should wait for the first"
    may_commit.set()
    one.join(10)
    two.join(10)

    (entry_one, recorded_one), (entry_two, recorded_two) = results["first"], results["second"]
    assert (recorded_one, recorded_two) == (True, False)
    assert entry_one.pk == entry_two.pk
    assert Entry.objects.filter(summary="Sent twice at once").count() == 1
    assert EntryRequest.objects.filter(key="race").count() == 1


# --- the pages -----------------------------------------------------------------------------


def form_data(client, child, **changes):
    page = client.get(reverse("entry_create", args=[child.public_id]))
    key = page.context["form"]["request_key"].value()
    return {
        "request_key": key,
        "kind": "concern",
        "event_date": "2026-03-02",
        "date_precision": "day",
        "categories": ["neglect.nutrition"],
        "severity": "2",
        "summary": "Arrived without a coat in the rain",
        **changes,
    }


def test_a_double_click_on_save_records_the_entry_once(client, alice, child):
    client.force_login(alice)
    data = form_data(client, child)
    url = reverse("entry_create", args=[child.public_id])

    first = client.post(url, data)
    second = client.post(url, data, follow=True)

    assert first.status_code == 302
    assert Entry.objects.count() == 1
    assert "sent twice; the entry is recorded once" in second.content.decode()


def test_each_form_drawn_has_a_key_of_its_own(client, alice, child):
    client.force_login(alice)
    assert form_data(client, child)["request_key"] != form_data(client, child)["request_key"]


def test_a_form_sent_again_after_a_change_is_shown_back_then_saved_as_new(client, alice, child):
    """The Back button brings back a saved form, key and all: a changed entry sent
    from it is not lost, nor taken for the first."""
    client.force_login(alice)
    data = form_data(client, child)
    url = reverse("entry_create", args=[child.public_id])
    client.post(url, data)

    changed = {**data, "summary": "A second, different concern"}
    shown_back = client.post(url, changed)
    assert shown_back.status_code == 200
    assert "already saved an entry" in shown_back.content.decode()
    assert Entry.objects.count() == 1

    new_key = shown_back.context["form"]["request_key"].value()
    assert new_key != data["request_key"]
    saved = client.post(url, {**changed, "request_key": new_key})
    assert saved.status_code == 302
    assert Entry.objects.count() == 2


def test_a_decision_sent_twice_is_recorded_once(client, alice, child):
    client.force_login(alice)
    url = reverse("decision_create", args=[child.public_id])
    key = client.get(url).context["form"]["request_key"].value()
    data = {
        "request_key": key,
        "decision_type": "strategy_discussion",
        "event_date": "2026-03-02",
        "agencies_present": ["sc", "school"],
        "decision_outcome": "section_47_enquiry",
        "summary": "Strategy discussion: section 47 enquiry to start",
    }
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Entry.objects.filter(kind=EntryKind.DECISION).count() == 1
