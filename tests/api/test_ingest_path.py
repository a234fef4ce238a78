"""The busiest write: another system posting one entry about one child.

What one POST costs in queries, and the guarantees that must survive making it
cheap: access checked (outsiders get 404) in every request, validation naming the
field, one audit row per child, the mark for evaluation in the same transaction,
and a queue that cannot be reached never failing the write."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from chronology import services
from chronology.models import AuditEvent, Entry, EntryChild
from chronology.selectors import child_checked_in_this_request, child_get_for_user
from chronology.vocabulary import EntryKind
from core.audit import request_id_var
from escalation.models import ChildWatch
from tests.factories import api_key_for

BODY = {
    "kind": "concern",
    "event_date": "2026-03-02",
    "categories": ["neglect.nutrition", "other"],
    "severity": 2,
    "summary": "Arrived late and hungry",
}


def token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api


def post_entry(api, child, body=BODY, **extra):
    return api.post(reverse("api_entry_list", args=[child.public_id]), body, format="json", **extra)


def test_one_entry_post_costs_nine_queries(bob, child, django_assert_num_queries):
    api = token_client(bob)
    # A token's first use writes its last-used time (then at most once a minute).
    api.get(reverse("api_child_list"))
    # 1 the token with its user and the user's agency; 2 the child, if bob may see it;
    # the transaction (a savepoint inside the test's own); the entry, its child row,
    # its category rows and its audit row; the mark for evaluation.
    with django_assert_num_queries(9):
        response = post_entry(api, child)
    assert response.status_code == 201, response.json()


def test_the_answer_shows_the_entry_as_written(bob, child):
    response = post_entry(token_client(bob), child)
    entry = Entry.objects.get()
    assert response.json()["id"] == str(entry.public_id)
    assert response.json()["categories"] == ["neglect.nutrition", "other"]
    assert response.json()["agency"] == "school"
    assert response.json()["author"] == "bob"
    assert response.json()["amends"] is None
    assert entry.categories == ["neglect.nutrition", "other"]


def test_the_post_is_audited_and_the_child_marked_in_the_same_transaction(
    bob, child, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = post_entry(token_client(bob), child, HTTP_X_REQUEST_ID="mis-000000042")
    assert response.status_code == 201
    entry = Entry.objects.get()
    row = AuditEvent.objects.get(action="entry.record")
    assert (row.actor, row.child, row.object_id) == (bob, child, str(entry.public_id))
    assert row.request_id == "mis-000000042"
    # Marked before the commit; the queue is told only after it.
    assert ChildWatch.objects.get(child=child).due_since is not None
    assert len(queued) == 1


def test_a_queue_that_cannot_be_reached_does_not_fail_the_write(
    bob, child, monkeypatch, django_capture_on_commit_callbacks
):
    from escalation.tasks import child_evaluate_task

    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(child_evaluate_task, "apply_async", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_entry(token_client(bob), child)
    assert response.status_code == 201
    assert Entry.objects.count() == 1
    # The sweep finds the child by its mark.
    assert ChildWatch.objects.get(child=child).due_since is not None


def test_an_outsider_posting_gets_404_and_nothing_is_written(charlie, child):
    response = post_entry(token_client(charlie), child)
    assert response.status_code == 404
    assert not Entry.objects.exists()
    assert not AuditEvent.objects.filter(action="entry.record").exists()
    assert not ChildWatch.objects.filter(child=child).exists()


def test_an_unknown_child_is_the_same_404(bob):
    missing = reverse("api_entry_list", args=["00000000-0000-4000-8000-000000000000"])
    response = token_client(bob).post(missing, BODY, format="json")
    assert response.status_code == 404


def test_access_ended_applies_from_the_next_request(alice, bob, child):
    api = token_client(bob)
    assert post_entry(api, child).status_code == 201
    involvement = child.involvements.get(agency=bob.agency, ended_on__isnull=True)
    involvement.started_on = datetime.date(2025, 1, 1)
    involvement.save(update_fields=["started_on"])
    services.involvement_end(actor=alice, involvement=involvement, reason="Left the school")
    assert post_entry(api, child).status_code == 404
    assert Entry.objects.count() == 1


def test_bad_input_names_the_field_and_writes_nothing(bob, child):
    response = post_entry(token_client(bob), child, {**BODY, "severity": 9, "kind": "gossip"})
    assert response.status_code == 400
    assert set(response.json()) == {"severity", "kind"}
    assert not Entry.objects.exists()
    assert not AuditEvent.objects.filter(action="entry.record").exists()
    assert not ChildWatch.objects.filter(child=child).exists()


def test_an_inactive_users_token_is_refused(bob, child):
    api = token_client(bob)
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert post_entry(api, child).status_code == 401
    assert not Entry.objects.exists()


# --- the one access check per request, from the service's side ----------------------------


@pytest.fixture
def in_a_request():
    token = request_id_var.set("test-request-0001")
    yield
    request_id_var.reset(token)


def test_a_child_opened_by_one_user_is_checked_again_for_another(in_a_request, bob, charlie, child):
    opened = child_get_for_user(user=bob, public_id=child.public_id)
    assert child_checked_in_this_request(user=bob, child=opened)
    assert not child_checked_in_this_request(user=charlie, child=opened)
    with pytest.raises(PermissionDenied):
        services.entry_record(
            actor=charlie,
            children=[opened],
            kind=EntryKind.CONCERN,
            event_date=datetime.date(2026, 3, 2),
            summary="Not charlie's child",
        )
    assert not Entry.objects.exists()


def test_a_child_opened_in_another_request_is_checked_again(bob, child):
    token = request_id_var.set("test-request-0001")
    try:
        opened = child_get_for_user(user=bob, public_id=child.public_id)
    finally:
        request_id_var.reset(token)
    assert not child_checked_in_this_request(user=bob, child=opened)
    token = request_id_var.set("test-request-0002")
    try:
        assert not child_checked_in_this_request(user=bob, child=opened)
    finally:
        request_id_var.reset(token)


def test_an_entry_about_two_children_has_an_audit_row_for_each(alice, child):
    sibling = services.child_create(actor=alice, given_names="Sam", family_name="Synthetic")
    entry = services.entry_record(
        actor=alice,
        children=[child, sibling],
        kind=EntryKind.CONCERN,
        event_date=datetime.date(2026, 3, 2),
        summary="Both children left alone overnight",
    )
    rows = AuditEvent.objects.filter(action="entry.record", object_id=str(entry.public_id))
    assert sorted(rows.values_list("child_id", flat=True)) == sorted([child.pk, sibling.pk])
    assert EntryChild.objects.filter(entry=entry).count() == 2
