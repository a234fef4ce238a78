"""Chronology and audit records are never changed or deleted, in Django or in SQL."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction

from chronology import services
from chronology.models import (
    Amendment,
    AppendOnlyError,
    AuditEvent,
    Entry,
    EntryCategory,
    EntryChild,
)
from chronology.selectors import entries_for_child
from chronology.vocabulary import EntryKind

# The app's role has no UPDATE or DELETE on these tables; with a single role (no
# DATABASE_OWNER_URL) the triggers refuse instead. tests/security/test_db_roles.py
# shows each layer on its own.
REFUSED = r"permission denied|Cannot (update|delete)"


@pytest.fixture
def concern(bob, child):
    return services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.hygiene"],
        severity=2,
        event_date=datetime.date(2026, 3, 2),
        summary="Head lice, untreated",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE chronology_entry SET summary = 'rewritten'",
        "DELETE FROM chronology_entry",
        "UPDATE chronology_entrycategory SET category = 'other'",
        "DELETE FROM chronology_entrychild",
        "UPDATE chronology_auditevent SET action = 'nothing'",
        "DELETE FROM chronology_auditevent",
    ],
)
def test_raw_sql_updates_and_deletes_are_refused_by_postgresql(concern, sql):
    with (
        pytest.raises(DatabaseError, match=REFUSED),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert Entry.objects.get(pk=concern.pk).summary == "Head lice, untreated"


def test_raw_sql_cannot_rewrite_an_amendment(bob, concern):
    services.entry_amend(actor=bob, entry=concern, reason="Typo", summary="Head lice, treated")
    with (
        pytest.raises(DatabaseError, match=REFUSED),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE chronology_amendment SET reason = 'hidden'")


def test_django_refuses_to_save_or_delete_an_entry_again(concern):
    concern.summary = "rewritten"
    with pytest.raises(AppendOnlyError):
        concern.save()
    with pytest.raises(AppendOnlyError):
        concern.delete()
    with pytest.raises(AppendOnlyError):
        Entry.objects.filter(pk=concern.pk).update(summary="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_an_amendment_appears_beside_its_original(client, bob, child, concern):
    amendment = services.entry_amend(
        actor=bob,
        entry=concern,
        reason="Wrong day recorded",
        event_date=datetime.date(2026, 3, 3),
    )
    # The original is still there, unchanged, and linked to its replacement.
    original = Entry.objects.get(pk=concern.pk)
    assert original.event_date == datetime.date(2026, 3, 2)
    assert amendment.replacement.event_date == datetime.date(2026, 3, 3)
    assert amendment.replacement.categories == ["neglect.hygiene"]
    assert amendment.author == bob

    current = list(entries_for_child(user=bob, child=child))
    assert current == [amendment.replacement]
    assert set(entries_for_child(user=bob, child=child, include_superseded=True)) == {
        original,
        amendment.replacement,
    }

    client.force_login(bob)
    page = client.get(f"/children/{child.public_id}/").content.decode()
    assert "Wrong day recorded" in page
    assert "3 March 2026" in page
    assert "Original entry, 2 March 2026: Head lice, untreated" in page


def test_an_entry_can_be_amended_once_then_its_replacement_is_amended(bob, concern):
    first = services.entry_amend(actor=bob, entry=concern, reason="a", summary="Second version")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.entry_amend(actor=bob, entry=concern, reason="b", summary="Branch")
    second = services.entry_amend(
        actor=bob, entry=first.replacement, reason="b", summary="Third version"
    )
    assert second.replacement.summary == "Third version"
    assert Amendment.objects.count() == 2


def test_entered_in_error_is_a_mark_not_a_delete(bob, child, concern):
    services.entry_mark_entered_in_error(actor=bob, entry=concern, reason="Wrong child")
    assert Entry.objects.filter(pk=concern.pk).exists()
    assert list(entries_for_child(user=bob, child=child)) == []
    assert concern.amendment.kind == "entered_in_error"


def test_only_the_recording_agency_amends_its_entry(alice, concern):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.entry_amend(actor=alice, entry=concern, reason="Not mine", summary="x")
    assert not Amendment.objects.exists()


def test_a_failed_amendment_saves_nothing(bob, concern):
    from django.core.exceptions import ValidationError

    entries, categories, children = (
        Entry.objects.count(),
        EntryCategory.objects.count(),
        EntryChild.objects.count(),
    )
    with pytest.raises(ValidationError):
        services.entry_amend(actor=bob, entry=concern, reason="x", categories=["neglect.food"])
    assert (Entry.objects.count(), EntryCategory.objects.count(), EntryChild.objects.count()) == (
        entries,
        categories,
        children,
    )
