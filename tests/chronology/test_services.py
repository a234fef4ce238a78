"""Each write is one transaction, checked, and audited."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from chronology import services
from chronology.models import AuditEvent, Child, Entry, Involvement, StatusPeriod
from chronology.vocabulary import EntryKind, Status


def test_creating_a_child_grants_the_creators_agency_access_and_is_audited(alice):
    child = services.child_create(actor=alice, given_names="Sam", family_name="Synthetic")
    assert Involvement.objects.get(child=child).agency == alice.agency
    actions = list(AuditEvent.objects.filter(child=child).values_list("action", flat=True))
    assert actions == ["child.create", "involvement.grant"]
    row = AuditEvent.objects.filter(child=child).first()
    assert (row.actor, row.actor_agency, row.actor_role) == (alice, alice.agency, "practitioner")
    assert row.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nhs_number", "9434765918", "check digit"),
        ("nhs_number", "12345", "10 digits"),
        ("unique_pupil_number", "A12345", "13 characters"),
    ],
)
def test_a_child_with_a_bad_identifier_is_refused_and_nothing_is_saved(
    alice, field, value, message
):
    with pytest.raises(ValidationError) as raised:
        services.child_create(actor=alice, given_names="Sam", **{field: value})
    assert message in str(raised.value.message_dict[field])
    assert not Child.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_valid_nhs_number_is_accepted(alice):
    child = services.child_create(actor=alice, given_names="Sam", nhs_number="9434765919")
    assert child.nhs_number == "9434765919"


def test_one_entry_can_concern_siblings_and_each_child_gets_an_audit_row(alice):
    older = services.child_create(actor=alice, given_names="Older")
    younger = services.child_create(actor=alice, given_names="Younger")
    services.household_create(actor=alice, name="Synthetic family", children=[older, younger])
    entry = services.entry_record(
        actor=alice,
        children=[older, younger],
        kind=EntryKind.VISIT,
        severity=2,
        categories=["neglect.home_conditions"],
        event_date=datetime.date(2026, 4, 1),
        summary="Home visit: no food in the house",
    )
    assert set(entry.children.all()) == {older, younger}
    assert (
        AuditEvent.objects.filter(action="entry.record", object_id=str(entry.public_id)).count()
        == 2
    )
    assert older.household == younger.household


def test_the_recorded_time_is_set_by_the_server_apart_from_the_event_date(alice, child):
    entry = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2019, 1, 1),
        date_precision="year",
        summary="Back-dated",
    )
    assert entry.recorded_at.date() > entry.event_date
    assert entry.date_precision == "year"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "gossip"}, "kind"),
        ({"categories": ["neglect.food"]}, "categories"),
        ({"severity": 6}, "severity"),
        ({"summary": "   "}, "summary"),
        ({"kind": EntryKind.STATUS, "status": "adopted"}, "status"),
        ({"kind": EntryKind.DECISION, "decision_type": "chat"}, "decision"),
        ({"kind": EntryKind.ASSESSMENT, "scores": {"nutrition": 7}}, "scores"),
        ({"kind": EntryKind.ASSESSMENT, "scores": [3, 4]}, "scores"),
    ],
)
def test_bad_entries_are_refused_naming_the_field_and_nothing_is_saved(alice, child, kwargs, field):
    arguments = {
        "kind": EntryKind.CONCERN,
        "event_date": datetime.date(2026, 1, 1),
        "summary": "Seen",
        **kwargs,
    }
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as raised:
        services.entry_record(actor=alice, children=[child], **arguments)
    assert field in raised.value.message_dict
    assert not Entry.objects.exists()
    assert AuditEvent.objects.count() == audit_rows


def test_a_decision_records_its_type_outcome_and_the_agencies_present(alice, child, school):
    decision = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.DECISION,
        event_date=datetime.date(2026, 5, 1),
        summary="Strategy discussion held",
        decision_type="strategy_discussion",
        decision_outcome="section_47_enquiry",
        agencies_present=[alice.agency, school],
    )
    assert decision.decision_type == "strategy_discussion"
    assert set(decision.agencies_present.all()) == {alice.agency, school}


def test_status_changes_keep_plan_and_care_periods_in_step(alice, child):
    services.status_change(
        actor=alice, child=child, status=Status.CHILD_PROTECTION_PLAN, on=datetime.date(2025, 9, 1)
    )
    services.status_change(
        actor=alice, child=child, status=Status.LOOKED_AFTER, on=datetime.date(2025, 12, 1)
    )
    services.status_change(
        actor=alice, child=child, status=Status.LOOKED_AFTER_ENDED, on=datetime.date(2026, 3, 1)
    )
    periods = {
        p.status: (p.started_on, p.ended_on) for p in StatusPeriod.objects.filter(child=child)
    }
    assert periods == {
        "child_protection_plan": (datetime.date(2025, 9, 1), None),
        "looked_after": (datetime.date(2025, 12, 1), datetime.date(2026, 3, 1)),
    }
    services.status_change(
        actor=alice, child=child, status=Status.CLOSED, on=datetime.date(2026, 6, 1)
    )
    assert not StatusPeriod.objects.filter(child=child, ended_on__isnull=True).exists()


def test_allocating_a_worker_ends_the_previous_allocation(alice, mallory, child):
    services.worker_allocate(actor=mallory, child=child, worker=alice, on=datetime.date(2026, 1, 1))
    services.worker_allocate(
        actor=mallory, child=child, team="Duty team", on=datetime.date(2026, 2, 1)
    )
    allocations = list(child.allocations.order_by("started_on"))
    assert [(a.worker, a.team, a.ended_on) for a in allocations] == [
        (alice, "", datetime.date(2026, 2, 1)),
        (None, "Duty team", None),
    ]
    assert Entry.objects.filter(kind=EntryKind.ALLOCATION).count() == 2


def test_an_agency_cannot_be_involved_twice_at_once(alice, child):
    first = Involvement.objects.get(child=child, agency=alice.agency)
    again = services.involvement_grant(
        actor=alice, child=child, agency=alice.agency, reason="Again"
    )
    assert again == first
    assert Involvement.objects.filter(child=child, agency=alice.agency).count() == 1


def test_a_notification_is_acknowledged_once(alice, bob, child):
    notice = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTIFICATION,
        categories=["domestic_abuse"],
        event_date=datetime.date(2026, 6, 5),
        summary="Police attended a domestic incident at the home",
    )
    services.notification_acknowledge(actor=bob, entry=notice, on=datetime.date(2026, 6, 8))
    with pytest.raises(ValidationError):
        services.notification_acknowledge(actor=bob, entry=notice)
    assert notice.acknowledgement.acknowledged_by == bob
