"""Corrections in the browser: from a chronology row, amend an entry or mark it
entered in error, with a reason; the original stays in the record, shown beside."""

import datetime

from django.urls import reverse

from chronology import services
from chronology.models import Amendment, AuditEvent, Entry
from chronology.vocabulary import EntryKind


def record(actor, child, summary="Robin hungry at school"):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=datetime.date(2026, 3, 2),
        categories=["neglect.nutrition"],
        severity=2,
        summary=summary,
    )


def correct_url(child, entry):
    return reverse("entry_correct", args=[child.public_id, entry.public_id])


def form_data(entry, **changes):
    data = {
        "what": "correct",
        "reason": "Wrong date typed",
        "event_date": entry.event_date.isoformat(),
        "categories": entry.categories,
        "severity": str(entry.severity or ""),
        "summary": entry.summary,
        "child_words": entry.child_words or "",
        "action": entry.action or "",
    }
    return {**data, **changes}


def test_a_row_links_to_its_correction_for_the_agency_that_recorded_it(client, alice, bob, child):
    own, theirs = record(alice, child), record(bob, child, "School saw bruising")
    client.force_login(alice)
    page = client.get(reverse("child_chronology", args=[child.public_id])).content.decode()
    assert correct_url(child, own) in page
    assert correct_url(child, theirs) not in page


def test_a_correction_keeps_the_original_beside_it(client, alice, child):
    entry = record(alice, child)
    client.force_login(alice)
    form = client.get(correct_url(child, entry)).content.decode()
    assert "Robin hungry at school" in form and "The entry as recorded" in form

    response = client.post(correct_url(child, entry), form_data(entry, event_date="2026-03-12"))

    assert response.status_code == 302
    amendment = Amendment.objects.get(entry=entry)
    assert amendment.reason == "Wrong date typed"
    assert amendment.replacement.event_date == datetime.date(2026, 3, 12)
    assert amendment.replacement.summary == entry.summary
    page = client.get(response["Location"]).content.decode()
    assert "Wrong date typed" in page
    assert "Original entry, 2 March 2026: Robin hungry at school" in page
    assert AuditEvent.objects.filter(action="entry.amend", child=child).exists()


def test_marking_an_entry_entered_in_error_needs_a_reason(client, alice, child):
    entry = record(alice, child)
    client.force_login(alice)
    refused = client.post(correct_url(child, entry), {"what": "error", "reason": ""})
    assert refused.status_code == 200
    assert "Say why the entry is being corrected." in refused.content.decode()
    assert not Amendment.objects.exists()

    client.post(correct_url(child, entry), {"what": "error", "reason": "Wrong child"})

    assert Amendment.objects.get(entry=entry).kind == "entered_in_error"
    assert not Entry.objects.current().filter(pk=entry.pk).exists()
    # Still visible, marked as such, with the reason.
    page = client.get(reverse("child_chronology", args=[child.public_id])).content.decode()
    in_error = page[page.index("Entries marked entered in error") :]
    assert "Robin hungry at school" in in_error and "Wrong child" in in_error


def test_a_correction_that_changes_nothing_is_refused_by_name(client, alice, child):
    entry = record(alice, child)
    client.force_login(alice)
    response = client.post(correct_url(child, entry), form_data(entry))
    assert response.status_code == 200
    assert "Nothing was changed." in response.content.decode()
    assert not Amendment.objects.exists()


def test_another_agency_cannot_correct_and_an_outsider_gets_404(client, alice, bob, charlie, child):
    entry = record(alice, child)
    client.force_login(bob)
    assert client.get(correct_url(child, entry)).status_code == 403
    client.force_login(charlie)
    assert client.get(correct_url(child, entry)).status_code == 404
    assert client.post(correct_url(child, entry), form_data(entry)).status_code == 404
    assert not Amendment.objects.exists()
