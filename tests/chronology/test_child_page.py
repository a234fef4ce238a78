"""The child page: the chronology, its amendments and the neglect level with its reasons."""

import datetime

from django.urls import reverse

from chronology import services
from chronology.models import AuditEvent
from chronology.vocabulary import EntryKind


def record_concerns(actor, child, count, start=datetime.date(2026, 1, 1)):
    for n in range(count):
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=["neglect.nutrition"],
            severity=2,
            event_date=start + datetime.timedelta(days=n % 300),
            summary=f"No breakfast, day {n}",
        )


def test_a_manager_reads_the_level_and_why(client, mallory, alice, bob, child):
    record_concerns(bob, child, 4, start=datetime.date(2026, 10, 1))
    record_concerns(alice, child, 4, start=datetime.date(2026, 10, 15))
    client.force_login(mallory)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    assert "Level 3: Targeted" in page
    assert "corroborated by another agency" in page
    assert page.count("neglect.nutrition feeds nutrition") == 8


def test_opening_a_child_is_audited(client, alice, child):
    client.force_login(alice)
    client.get(reverse("child_detail", args=[child.public_id]))
    view = AuditEvent.objects.get(action="child.view")
    assert (view.actor, view.child) == (alice, child)


def test_the_child_page_runs_the_same_number_of_queries_for_5_or_50_entries(
    client, alice, child, django_assert_max_num_queries
):
    client.force_login(alice)
    url = reverse("child_detail", args=[child.public_id])
    record_concerns(alice, child, 5)
    with django_assert_max_num_queries(15) as short:
        client.get(url)
    record_concerns(alice, child, 45)
    with django_assert_max_num_queries(len(short.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("No breakfast") == 50


def test_an_outsider_cannot_open_the_child_page_and_leaves_no_view_in_the_audit(
    client, charlie, child
):
    client.force_login(charlie)
    assert client.get(reverse("child_detail", args=[child.public_id])).status_code == 404
    assert not AuditEvent.objects.filter(action="child.view").exists()
