"""Rules raise one alert per episode, decisions resolve them, the ladder climbs."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import AgencyKind, Role
from chronology import services
from chronology.models import Involvement
from chronology.vocabulary import EntryKind
from core.concurrency import StaleVersion
from escalation import services as escalation
from escalation.models import Alert, AlertStatus, Holiday, Notification
from tests.factories import AgencyFactory, UserFactory

LONDON = ZoneInfo("Europe/London")
D = datetime.date


def at(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def record(actor, child, day, kind=EntryKind.CONCERN, categories=("neglect.nutrition",), **extra):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=kind,
        event_date=day,
        categories=list(categories),
        summary=extra.pop("summary", f"{kind} on {day}"),
        **extra,
    )


def decision(actor, child, day, agencies):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.DECISION,
        event_date=day,
        summary="Strategy discussion",
        decision_type="strategy_discussion",
        decision_outcome="section_47_enquiry",
        agencies_present=agencies,
    )


def evaluate(child, now):
    return escalation.child_evaluate(child_id=child.pk, now=now)


@pytest.fixture
def neglect_pattern(alice, bob, child):
    """Four neglect concerns from two agencies inside 90 days: the frequency rule's pattern.

    The agencies' involvements are back-dated to cover the history, so that tests
    travelling to those dates find them involved."""
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    for day, actor in [(D(2026, 3, 2), bob), (D(2026, 3, 20), alice), (D(2026, 4, 8), bob)]:
        record(actor, child, day)
    return record(bob, child, D(2026, 4, 20), categories=["neglect.hygiene"])


def frequency_alerts(child):
    return Alert.objects.filter(child=child, rule_code="frequency-neglect")


def test_a_pattern_evaluated_twice_gives_one_alert(child, neglect_pattern):
    first = evaluate(child, at(2026, 4, 21))
    second = evaluate(child, at(2026, 4, 22))
    assert [a.rule_code for a in first.raised] == ["frequency-neglect"]
    assert second.raised == []
    alert = frequency_alerts(child).get()
    assert alert.reason.startswith(
        "4 entries about neglect.hygiene, neglect.nutrition from 2 agencies in 49 days"
    )
    assert "no multi-agency decision on record" in alert.reason
    assert alert.evidence.count() == 4


def test_a_decision_with_two_agencies_resolves_the_alert_and_links_to_it(
    alice, bob, child, neglect_pattern
):
    evaluate(child, at(2026, 4, 21))
    meeting = decision(alice, child, D(2026, 4, 23), [alice.agency, bob.agency])
    result = evaluate(child, at(2026, 4, 23, 15))
    alert = frequency_alerts(child).get()
    assert alert in result.resolved
    assert (alert.status, alert.resolved_by_decision) == (AlertStatus.RESOLVED, meeting)
    assert "2 agencies present" in alert.history.last().reason
    # The pattern it covered does not come back.
    assert evaluate(child, at(2026, 4, 24)).raised == []


def test_a_decision_with_one_agency_present_resolves_nothing(alice, child, neglect_pattern):
    evaluate(child, at(2026, 4, 21))
    decision(alice, child, D(2026, 4, 23), [alice.agency])
    evaluate(child, at(2026, 4, 23, 15))
    assert frequency_alerts(child).get().status == AlertStatus.OPEN


def test_repeated_referrals_from_one_agency_are_one_episode_that_grows(alice, child):
    record(alice, child, D(2026, 2, 2), kind=EntryKind.REFERRAL, categories=["neglect.supervision"])
    evaluate(child, at(2026, 2, 12))
    record(
        alice, child, D(2026, 2, 16), kind=EntryKind.REFERRAL, categories=["neglect.supervision"]
    )
    evaluate(child, at(2026, 2, 26))
    alert = Alert.objects.get(child=child, rule_code="referral-no-decision")
    assert alert.urgency == 2
    assert alert.episode_key == alice.agency.code
    assert "2 referral(s)" in alert.reason


def test_the_childs_words_unanswered_raise_an_alert_at_72_hours(bob, child):
    record(
        bob,
        child,
        D(2026, 5, 4),
        kind=EntryKind.CHILD_VOICE,
        categories=["sexual_abuse"],
        child_words="He comes into my room",
        event_time=datetime.time(10, 0),
    )
    assert evaluate(child, at(2026, 5, 7, 9, 59)).raised == []
    raised = evaluate(child, at(2026, 5, 7, 10, 0)).raised
    assert [(a.rule_code, a.categories) for a in raised] == [("voice-unanswered", ["sexual_abuse"])]


def test_the_childs_words_followed_by_a_referral_in_time_raise_nothing(alice, bob, child):
    record(
        bob,
        child,
        D(2026, 5, 4),
        kind=EntryKind.CHILD_VOICE,
        categories=["physical_abuse"],
        event_time=datetime.time(10, 0),
    )
    record(alice, child, D(2026, 5, 5), kind=EntryKind.REFERRAL, categories=["physical_abuse"])
    assert not Alert.objects.filter(rule_code="voice-unanswered").exists()
    evaluate(child, at(2026, 5, 8))
    assert not Alert.objects.filter(rule_code="voice-unanswered").exists()


def test_the_next_check_is_set_for_the_moment_a_timer_runs_out(bob, child):
    record(
        bob,
        child,
        D(2026, 5, 4),
        kind=EntryKind.CHILD_VOICE,
        categories=["neglect.nutrition"],
        event_time=datetime.time(10, 0),
    )
    evaluate(child, at(2026, 5, 4, 11))
    child.watch.refresh_from_db()
    assert child.watch.next_check_at == at(2026, 5, 7, 10)


def test_a_police_notice_on_friday_night_must_reach_the_school_by_monday_9am(alice, child):
    police = AgencyFactory(code="police", name="Police", kind=AgencyKind.POLICE)
    officer = UserFactory(agency=police)
    services.involvement_grant(actor=alice, child=child, agency=police, reason="Incident")
    child.date_of_birth = D(2017, 3, 1)
    child.save()
    # Friday 27 November 2026, 23:30.
    record(
        officer,
        child,
        D(2026, 11, 27),
        kind=EntryKind.NOTIFICATION,
        categories=["domestic_abuse"],
        event_time=datetime.time(23, 30),
    )
    assert evaluate(child, at(2026, 11, 30, 8, 59)).raised == []
    raised = evaluate(child, at(2026, 11, 30, 9, 0)).raised
    assert [a.rule_code for a in raised] == ["encompass"]
    assert "before 09:00 on Monday 2026-11-30" in raised[0].reason


def test_a_notice_acknowledged_before_monday_raises_nothing(alice, bob, child):
    police = AgencyFactory(code="police", name="Police", kind=AgencyKind.POLICE)
    officer = UserFactory(agency=police)
    services.involvement_grant(actor=alice, child=child, agency=police, reason="Incident")
    child.date_of_birth = D(2017, 3, 1)
    child.save()
    notice = record(
        officer,
        child,
        D(2026, 11, 27),
        kind=EntryKind.NOTIFICATION,
        categories=["domestic_abuse"],
        event_time=datetime.time(23, 30),
    )
    services.notification_acknowledge(actor=bob, entry=notice, on=D(2026, 11, 28))
    assert evaluate(child, at(2026, 11, 30, 10)).raised == []


def test_the_ladder_climbs_after_eight_working_hours_skipping_the_weekend(
    alice, bob, mallory, child, neglect_pattern
):
    # Raised on Friday 24 April 2026 at 15:00: 2 working hours that day, 6 on Monday.
    with time_machine.travel(at(2026, 4, 24, 15), tick=False):
        alert = evaluate(child, at(2026, 4, 24, 15)).raised[0]
    assert alert.ladder_due_at == at(2026, 4, 27, 15)
    with time_machine.travel(at(2026, 4, 27, 14, 59), tick=False):
        assert escalation.ladder_advance_due() == 0
    with time_machine.travel(at(2026, 4, 27, 15), tick=False):
        assert escalation.ladder_advance_due() >= 1
        assert escalation.ladder_advance_due() == 0  # never twice
    alert.refresh_from_db()
    assert (alert.ladder_level, alert.status) == (2, AlertStatus.ESCALATED)
    assert Notification.objects.filter(alert=alert, ladder_level=2, user=mallory).exists()


def test_a_holiday_is_not_a_working_hour(child, neglect_pattern):
    Holiday.objects.create(day=D(2026, 4, 27), name="Closure day")
    with time_machine.travel(at(2026, 4, 24, 15), tick=False):
        alert = evaluate(child, at(2026, 4, 24, 15)).raised[0]
    assert alert.ladder_due_at == at(2026, 4, 28, 15)


def test_acknowledging_stops_the_ladder_but_does_not_resolve(bob, child, neglect_pattern):
    alert = evaluate(child, at(2026, 4, 21)).raised[0]
    escalation.alert_acknowledge(actor=bob, alert=alert, reason="Talking to social care today")
    alert.refresh_from_db()
    assert (alert.status, alert.ladder_due_at) == (AlertStatus.ACKNOWLEDGED, None)
    assert alert.history.last().actor == bob
    with time_machine.travel(at(2026, 6, 1), tick=False):
        assert escalation.ladder_advance_due() == 0


def test_only_a_manager_resolves_without_a_decision_and_gives_a_reason(
    bob, mallory, child, neglect_pattern
):
    alert = evaluate(child, at(2026, 4, 21)).raised[0]
    with pytest.raises(PermissionDenied):
        escalation.alert_resolve(actor=bob, alert=alert, reason="Not needed, I think, honestly")
    with pytest.raises(ValidationError):
        escalation.alert_resolve(actor=mallory, alert=alert, reason="fine")
    escalation.alert_resolve(
        actor=mallory,
        alert=alert,
        reason="Family moved to a refuge out of county; case transferred",
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_a_stale_write_to_an_alert_is_refused(bob, child, neglect_pattern):
    alert = evaluate(child, at(2026, 4, 21)).raised[0]
    escalation.alert_acknowledge(
        actor=bob, alert=alert, reason="Seen", expected_version=alert.version
    )
    with pytest.raises(StaleVersion):
        escalation.alert_acknowledge(actor=bob, alert=alert, reason="Seen", expected_version=1)


def test_an_outsider_cannot_act_on_an_alert(charlie, child, neglect_pattern):
    alert = evaluate(child, at(2026, 4, 21)).raised[0]
    with pytest.raises(PermissionDenied):
        escalation.alert_acknowledge(actor=charlie, alert=alert, reason="Not mine")
    with pytest.raises(PermissionDenied):
        escalation.disagreement_raise(actor=charlie, child=child, reason="x" * 30)


def test_a_practitioner_raises_a_disagreement_that_climbs_the_same_ladder(bob, mallory, child):
    alert = escalation.disagreement_raise(
        actor=bob, child=child, reason="I think this child needs a strategy discussion now"
    )
    assert alert.rule is None and alert.ladder_due_at is not None
    assert Notification.objects.filter(alert=alert, user=mallory).exists()
    assert Alert.objects.filter(child=child, status=AlertStatus.OPEN).count() == 1


def test_level_one_notifications_go_to_leads_and_managers_by_email(
    bob, mallory, alice, child, neglect_pattern, django_capture_on_commit_callbacks
):
    bob.email, mallory.email = "lead@example.org", "manager@example.org"
    bob.save()
    mallory.save()
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(child, at(2026, 4, 21))
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert told == {"bob", "mallory"}  # not alice, a practitioner
    assert sorted(m.to[0] for m in mail.outbox) == ["lead@example.org", "manager@example.org"]
    assert all(child.given_names not in m.body for m in mail.outbox)


def test_turnover_of_three_workers_in_a_year_raises_an_alert(mallory, child):
    for month in (1, 4, 8):
        services.worker_allocate(
            actor=mallory, child=child, team=f"Team {month}", on=D(2026, month, 3)
        )
    raised = evaluate(child, at(2026, 8, 4)).raised
    assert "turnover" in [a.rule_code for a in raised]


def test_a_low_level_family_that_resolves_stays_quiet(alice, bob, child):
    record(bob, child, D(2025, 9, 15), categories=["neglect.clothing"], severity=1)
    record(bob, child, D(2025, 10, 20), categories=["neglect.hygiene"], severity=2)
    record(
        alice,
        child,
        D(2025, 11, 5),
        kind=EntryKind.VISIT,
        categories=["neglect.hygiene"],
        severity=1,
    )
    record(bob, child, D(2026, 1, 12), categories=["neglect.nutrition"], severity=2)
    for month in range(9, 13):
        evaluate(child, at(2025, month, 28))
    for month in range(1, 7):
        evaluate(child, at(2026, month, 28))
    assert not Alert.objects.filter(child=child).exists()
    assert Role  # roles used in fixtures


def test_a_child_who_jumps_straight_to_level_4_gets_one_level_alert(alice, bob, child):
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    for day, actor in [(D(2026, 6, 1), alice), (D(2026, 6, 2), bob), (D(2026, 6, 3), alice)]:
        record(
            actor,
            child,
            day,
            categories=["neglect.supervision", "neglect.home_conditions"],
            severity=5,
        )
    result = evaluate(child, at(2026, 6, 4))
    codes = [a.rule_code for a in result.raised]
    assert "level-statutory" in codes and "level-targeted" not in codes


def test_improvement_not_sustained_after_a_decision_is_raised_once_not_at_every_evaluation(
    alice, bob, child
):
    # Three bursts of concerns with quiet spells between: the score falls, stays
    # down for a real gap (3 month ends or more) and comes back to a level that
    # matters, twice. A multi-agency decision after the first peak, before the returns.
    Involvement.objects.filter(child=child).update(started_on=D(2023, 1, 1))
    for burst_start in [D(2024, 1, 1), D(2024, 9, 1), D(2025, 5, 1)]:
        for week in range(4):
            day = burst_start + datetime.timedelta(weeks=week)
            record(bob, child, day, severity=3)
            record(alice, child, day, categories=["neglect.hygiene"], severity=3)
    decision(alice, child, D(2024, 3, 15), [alice.agency, bob.agency])

    first = evaluate(child, at(2025, 7, 1))
    second = evaluate(child, at(2025, 7, 1))

    [alert] = Alert.objects.filter(child=child, rule_code="not-sustained")
    assert alert in first.raised
    assert alert.status == "open"
    assert alert.pattern_started_on > D(2024, 3, 15)
    assert second.raised == [] and second.resolved == []
