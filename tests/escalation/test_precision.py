"""Alerts a manager can trust (issue 15): the injury rule for babies not yet mobile,
the child's words from every kind of entry, episodes dated from the history,
plans covered while their reviews run to cadence, and the false-alarm measure."""

import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from chronology import services
from chronology.models import Child, Involvement
from chronology.selectors import child_words_for_child
from chronology.vocabulary import EntryKind
from escalation import services as escalation
from escalation.backtest import measures_of, reviewed_scenarios, scenario_measure
from escalation.context import contexts_load
from escalation.controls import control_documents
from escalation.models import UNRESOLVED, Alert, ChildWatch
from escalation.rules import plan_review_due
from neglect_tool.selectors import domain_codes, scoring_config_active

LONDON = ZoneInfo("Europe/London")
D = datetime.date


def at(year, month, day, hour=23):
    return datetime.datetime(year, month, day, hour, 0, tzinfo=LONDON)


@pytest.fixture
def baby(alice, school, child):
    """`child`, born on 2026-01-10, with the agencies' involvement back-dated."""
    Child.objects.filter(pk=child.pk).update(date_of_birth=D(2026, 1, 10))
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    child.refresh_from_db()
    return child


def bruise(actor, child, day):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=day,
        categories=["physical_abuse"],
        severity=2,
        summary="Small bruise on the cheek seen at the appointment",
    )


def codes(child):
    return sorted(Alert.objects.filter(child=child).values_list("rule_code", flat=True))


# --- the injury rule for babies not yet mobile -------------------------------------------


def test_a_bruise_on_a_four_month_old_with_no_referral_that_day_raises_an_alert(alice, baby):
    bruise(alice, baby, D(2026, 5, 12))
    result = escalation.child_evaluate(child_id=baby.pk, now=at(2026, 5, 12))
    assert [a.rule_code for a in result.raised] == ["injury-non-mobile"]
    assert "baby of 17 weeks" in result.raised[0].reason


def test_the_same_bruise_with_a_referral_that_day_raises_none(alice, baby):
    bruise(alice, baby, D(2026, 5, 12))
    services.entry_record(
        actor=alice,
        children=[baby],
        kind=EntryKind.REFERRAL,
        event_date=D(2026, 5, 12),
        categories=["physical_abuse"],
        summary="Referred to children's social care under the bruising protocol",
    )
    escalation.child_evaluate(child_id=baby.pk, now=at(2026, 5, 12))
    assert "injury-non-mobile" not in codes(baby)


def test_a_strategy_discussion_that_day_answers_the_bruise_only_with_two_agencies(
    alice, school, baby
):
    bruise(alice, baby, D(2026, 5, 12))
    services.entry_record(
        actor=alice,
        children=[baby],
        kind=EntryKind.DECISION,
        event_date=D(2026, 5, 12),
        summary="Strategy discussion",
        decision_type="strategy_discussion",
        decision_outcome="section_47_enquiry",
        agencies_present=[alice.agency],
    )
    escalation.child_evaluate(child_id=baby.pk, now=at(2026, 5, 12))
    assert codes(baby) == ["injury-non-mobile"]  # one agency alone is not multi-agency
    services.entry_record(
        actor=alice,
        children=[baby],
        kind=EntryKind.DECISION,
        event_date=D(2026, 5, 12),
        summary="Strategy discussion with health",
        decision_type="strategy_discussion",
        decision_outcome="section_47_enquiry",
        agencies_present=[alice.agency, school],
    )
    escalation.child_evaluate(child_id=baby.pk, now=at(2026, 5, 12, 23))
    assert Alert.objects.get(child=baby).status == "resolved"


def test_a_baby_recorded_as_mobile_meets_the_ordinary_rules_only(alice, baby):
    services.entry_record(
        actor=alice,
        children=[baby],
        kind=EntryKind.VISIT,
        event_date=D(2026, 4, 20),
        summary="Health visitor review",
        extra={"mobile_from": "2026-04-15"},  # an early crawler
    )
    bruise(alice, baby, D(2026, 5, 12))
    escalation.child_evaluate(child_id=baby.pk, now=at(2026, 5, 12))
    assert codes(baby) == []


def test_the_visit_form_records_when_the_baby_became_mobile(client, alice, baby):
    client.force_login(alice)
    response = client.post(
        reverse("visit_create", args=[baby.public_id]),
        {
            "event_date": "2026-04-20",
            "summary": "Health visitor review",
            "mobile_from": "2026-04-15",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert baby.entries.get(kind=EntryKind.VISIT).extra == {"mobile_from": "2026-04-15"}


# --- the child's words, from every kind of entry ----------------------------------------


@pytest.mark.parametrize("kind", [EntryKind.CONCERN, EntryKind.VISIT])
def test_words_on_a_concern_or_visit_reach_the_panel_handover_and_voice_rule(
    client, alice, bob, child, kind
):
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    words = "Mummy's friend hurt my arm"
    services.entry_record(
        actor=bob,
        children=[child],
        kind=kind,
        event_date=D(2026, 5, 4),
        categories=["physical_abuse"],
        severity=2,
        summary="Said at break time",
        child_words=words,
    )
    assert [e.child_words for e in child_words_for_child(child=child)] == [words]
    client.force_login(alice)
    for name in ("child_detail", "handover"):
        page = client.get(reverse(name, args=[child.public_id])).content.decode()
        assert "Mummy&#x27;s friend hurt my arm" in page, name
    result = escalation.child_evaluate(child_id=child.pk, now=at(2026, 5, 8))
    assert "voice-unanswered" in [a.rule_code for a in result.raised]


# --- episodes dated from the history, plans covered while reviews are in date ------------


def serious_neglect(actor, child, days):
    for day in days:
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.CONCERN,
            event_date=day,
            categories=["neglect.supervision", "neglect.home_conditions"],
            severity=4,
            summary="Left alone at home overnight; house in a dangerous state",
        )


def test_a_first_evaluation_dates_the_level_from_the_history_not_today(alice, bob, child):
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    serious_neglect(alice, child, [D(2026, 1, 5), D(2026, 1, 20), D(2026, 2, 3)])
    serious_neglect(bob, child, [D(2026, 2, 10)])
    result = escalation.child_evaluate(child_id=child.pk, now=at(2026, 6, 1))
    level_alerts = [a for a in result.raised if a.rule_code.startswith("level-")]
    assert level_alerts
    watch = ChildWatch.objects.get(child=child)
    entry_days = set(child.entries.values_list("event_date", flat=True))
    for alert in level_alerts:
        assert alert.pattern_started_on in entry_days
        assert alert.pattern_started_on < D(2026, 6, 1)
    assert set(watch.level_rose_on.values()) <= {d.isoformat() for d in entry_days}


def plan(actor, child, school, day):
    services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.DECISION,
        event_date=day,
        summary="Initial child protection conference",
        decision_type="child_protection_conference",
        decision_outcome="child_protection_plan",
        agencies_present=[actor.agency, school],
    )
    services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.STATUS,
        event_date=day,
        summary="Child protection plan",
        status="child_protection_plan",
    )


def test_a_child_on_a_plan_is_covered_while_reviews_are_in_date_then_alerted_when_overdue(
    alice, bob, school, child
):
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    serious_neglect(alice, child, [D(2026, 1, 5), D(2026, 1, 20), D(2026, 2, 3)])
    serious_neglect(bob, child, [D(2026, 2, 10)])
    plan(alice, child, school, D(2026, 3, 2))
    # Within three months of the initial conference: covered.
    escalation.child_evaluate(child_id=child.pk, now=at(2026, 5, 20))
    assert not Alert.objects.filter(child=child, status__in=UNRESOLVED).exists()
    # The first review conference was due by 2 June; none is recorded.
    escalation.child_evaluate(child_id=child.pk, now=at(2026, 6, 10))
    overdue = Alert.objects.get(child=child, status__in=UNRESOLVED)
    assert overdue.episode_key == "review-overdue"
    assert overdue.pattern_started_on == D(2026, 6, 3)
    assert "due by 2026-06-02" in overdue.reason


# --- the measures ---------------------------------------------------------------------


def test_the_defaults_raise_at_most_one_alert_per_50_child_years_on_the_controls(db):
    controls = control_documents(families=15, seed=2023)
    results = {}
    for version in (1, 2):
        rows = [scenario_measure(raw, name=n, version=version, control=True) for n, raw in controls]
        results[version] = measures_of(rows)["false_alarms"]
    assert results[2]["child_years"] > 100
    assert results[2]["per_100_child_years"] <= 2, results[2]["list"]
    # The measure can fail: the first rule set cried wolf on the same families.
    assert results[1]["per_100_child_years"] > 2


def test_the_defaults_meet_every_expect_item_of_the_reviewed_histories(db):
    rows = [
        scenario_measure(raw, name=n, version=2, control=False) for n, raw in reviewed_scenarios()
    ]
    recall = measures_of(rows)["recall"]
    assert recall["total"] >= 3
    assert recall["met"] == recall["total"]
    assert all(days > 0 for days in recall["lead_days"])


def test_after_the_demo_and_a_sweep_no_alert_concerns_a_child_whose_reviews_are_in_date(
    db, settings
):
    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    children = list(Child.objects.all())
    escalation.children_evaluate([c.pk for c in children], notify=False)
    now = datetime.datetime.now(tz=LONDON)
    today = now.date()
    watches = {w.child_id: w for w in ChildWatch.objects.filter(child__in=children)}
    rules = list(escalation.rule_set_active().rules.filter(is_enabled=True))
    contexts = contexts_load(
        children,
        watches,
        now=now,
        config=scoring_config_active(),
        domains=domain_codes(),
        rules=rules,
    )
    for child in children:
        entry_days = {e.event_date for e in contexts[child.pk].entries}
        # Every level reached is dated by the history, not by the load.
        for day in watches[child.pk].level_rose_on.values():
            assert D.fromisoformat(day) in entry_days, child.ref
        plan_due = plan_review_due(contexts[child.pk])
        for alert in Alert.objects.filter(child=child, status__in=UNRESOLVED):
            assert alert.pattern_started_on <= today
            assert alert.pattern_started_on in entry_days or alert.episode_key == (
                "review-overdue"
            ), (child.ref, alert.reason)
            assert plan_due is None or plan_due[2] < today, (child.ref, alert.reason)


def test_a_child_on_a_plan_whose_level_rises_after_the_last_decision_is_alerted(
    alice, bob, school, child
):
    Involvement.objects.filter(child=child).update(started_on=D(2025, 1, 1))
    serious_neglect(alice, child, [D(2026, 1, 5)])
    plan(alice, child, school, D(2026, 2, 2))
    escalation.child_evaluate(child_id=child.pk, now=at(2026, 2, 3))
    assert not Alert.objects.filter(child=child, status__in=UNRESOLVED).exists()
    serious_neglect(alice, child, [D(2026, 3, 2), D(2026, 3, 9)])
    serious_neglect(bob, child, [D(2026, 3, 10), D(2026, 3, 16)])
    escalation.child_evaluate(child_id=child.pk, now=at(2026, 3, 20))
    risen = Alert.objects.get(child=child, status__in=UNRESOLVED, rule_code__startswith="level-")
    assert risen.episode_key == ""
    assert D(2026, 2, 2) < risen.pattern_started_on <= D(2026, 3, 16)
