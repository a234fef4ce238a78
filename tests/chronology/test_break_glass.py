"""Break-glass: emergency access outside an involvement, with a reason, for an hour."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from chronology import selectors, services
from chronology.models import AuditEvent
from tests.factories import UserFactory

REASON = "Child presented at A&E out of hours; need the plan and the risks"


def test_an_outsider_opens_a_child_with_a_reason_for_sixty_minutes(charlie, child):
    assert not selectors.child_is_visible_to(user=charlie, child=child)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        access = services.break_glass_open(actor=charlie, child=child, reason=REASON)
        assert selectors.child_is_visible_to(user=charlie, child=child)
        assert selectors.break_glass_active_for(user=charlie, child=child) == access
    with time_machine.travel(start + datetime.timedelta(minutes=59), tick=False):
        assert selectors.child_is_visible_to(user=charlie, child=child)
    with time_machine.travel(start + datetime.timedelta(minutes=60, seconds=1), tick=False):
        assert not selectors.child_is_visible_to(user=charlie, child=child)


def test_it_is_for_the_user_alone_not_their_agency(charlie, housing, child):
    colleague = UserFactory(agency=housing)
    services.break_glass_open(actor=charlie, child=child, reason=REASON)
    assert not selectors.child_is_visible_to(user=colleague, child=child)


def test_a_short_reason_is_refused_and_nothing_is_saved(charlie, child):
    with pytest.raises(ValidationError) as raised:
        services.break_glass_open(actor=charlie, child=child, reason="urgent")
    assert "20 characters" in raised.value.message_dict["reason"][0]
    assert not selectors.child_is_visible_to(user=charlie, child=child)
    assert not AuditEvent.objects.filter(action="break_glass.open").exists()


def test_admins_and_auditors_cannot_break_the_glass(ada, auditor, child):
    for user in (ada, auditor):
        with pytest.raises(PermissionDenied):
            services.break_glass_open(actor=user, child=child, reason=REASON)


def test_the_lead_agency_and_the_auditors_are_told_and_it_is_audited(
    charlie, mallory, auditor, child, django_capture_on_commit_callbacks
):
    mallory.email, auditor.email = "manager@sc.example", "audit@sc.example"
    mallory.save()
    auditor.save()
    with django_capture_on_commit_callbacks(execute=True):
        access = services.break_glass_open(actor=charlie, child=child, reason=REASON)
    assert sorted(m.to[0] for m in mail.outbox) == ["audit@sc.example", "manager@sc.example"]
    assert all(child.given_names not in m.body for m in mail.outbox)
    row = AuditEvent.objects.get(action="break_glass.open")
    assert (row.actor, row.child, row.details["reason"]) == (charlie, child, REASON)
    assert row.object_id == str(access.public_id)


def test_finding_a_child_to_open_needs_exact_identifiers(alice):
    child = services.child_create(
        actor=alice,
        given_names="Robin",
        family_name="Synthetic",
        date_of_birth=datetime.date(2015, 5, 1),
        nhs_number="9434765919",
    )
    find = selectors.child_find_for_break_glass
    assert find(nhs_number="943 476 5919") == child
    assert (
        find(given_names="robin", family_name="SYNTHETIC", date_of_birth=datetime.date(2015, 5, 1))
        == child
    )
    assert find(given_names="Robin", family_name="Synthetic") is None  # no date of birth
    assert (
        find(given_names="Rob", family_name="Synthetic", date_of_birth=datetime.date(2015, 5, 1))
        is None
    )
