"""Retention: classes, a review list, legal hold, and nothing destroyed automatically."""

import datetime

from django.core.management import call_command

from chronology import services
from chronology.models import Child, Entry
from chronology.retention import retention_review_list
from chronology.vocabulary import EntryKind, Status

D = datetime.date


def note(actor, child, day):
    services.entry_record(
        actor=actor, children=[child], kind=EntryKind.NOTE, event_date=day, summary="n"
    )


def test_looked_after_records_are_kept_to_the_75th_birthday(alice):
    child = services.child_create(actor=alice, given_names="Kept", date_of_birth=D(1951, 3, 1))
    services.status_change(actor=alice, child=child, status=Status.LOOKED_AFTER, on=D(1960, 1, 1))
    due = retention_review_list(as_of=D(2026, 1, 1), within_days=90)
    assert [(d.retention_class, d.due_on) for d in due] == [
        ("Looked-after children", D(2026, 3, 1))
    ]
    assert retention_review_list(as_of=D(2025, 6, 1), within_days=90) == []


def test_other_records_are_due_years_after_the_last_contact(alice):
    child = services.child_create(actor=alice, given_names="Old", date_of_birth=D(2000, 1, 1))
    note(alice, child, D(2018, 5, 1))
    due = retention_review_list(as_of=D(2024, 5, 1), within_days=0)
    assert [(d.child_public_id, d.retention_class, d.due_on) for d in due] == [
        (str(child.public_id), "Other records", D(2024, 5, 1))
    ]


def test_a_legal_hold_keeps_a_child_off_the_list(alice):
    child = services.child_create(actor=alice, given_names="Held", date_of_birth=D(2000, 1, 1))
    note(alice, child, D(2010, 5, 1))
    services.legal_hold_place(actor=alice, child=child, reason="Civil claim pending")
    assert retention_review_list(as_of=D(2026, 1, 1)) == []


def test_the_review_command_lists_and_deletes_nothing(alice, capsys):
    child = services.child_create(actor=alice, given_names="Due", date_of_birth=D(2000, 1, 1))
    note(alice, child, D(2010, 5, 1))
    call_command("retention_review")
    out = capsys.readouterr().out
    assert str(child.public_id) in out and "Nothing has been deleted" in out
    assert Child.objects.filter(pk=child.pk).exists() and Entry.objects.count() == 1
