"""The patterns serious case reviews keep naming, as the live rules find them:
each test builds the context the engine builds for one child at one moment and
runs the rule function the engine runs."""

import datetime
from zoneinfo import ZoneInfo

from chronology import services
from chronology.vocabulary import EntryKind
from escalation import rules
from escalation.context import contexts_load
from escalation.defaults import HARM
from escalation.models import ChildWatch, Rule
from neglect_tool.selectors import domain_codes, scoring_config_active

LONDON = ZoneInfo("Europe/London")
D = datetime.date


def context(child, day):
    """The context the engine would build for `child` at the end of `day`."""
    now = datetime.datetime(day.year, day.month, day.day, 23, tzinfo=LONDON)
    # A fresh watch: nothing remembered from an earlier evaluation.
    watches = {child.pk: ChildWatch(child_id=child.pk)}
    contexts = contexts_load(
        [child],
        watches,
        now=now,
        config=scoring_config_active(),
        domains=domain_codes(),
        rules=[],
    )
    return contexts[child.pk]


def concern(actor, child, day, category, severity=3):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=day,
        categories=[category],
        severity=severity,
        summary=f"{category} seen",
    )


def test_improvement_that_is_not_sustained_is_found(alice, bob, child):
    # Three bursts of concerns, each followed by a quiet spell: the level falls, then returns.
    for burst_start in [D(2024, 1, 1), D(2024, 7, 1), D(2025, 1, 1)]:
        for week in range(4):
            day = burst_start + datetime.timedelta(weeks=week)
            concern(bob, child, day, "neglect.nutrition")
            concern(alice, child, day, "neglect.hygiene")
    rule = Rule(
        code="not-sustained",
        type="not_sustained",
        params={"times": 2, "within_months": 6, "lookback_months": 24},
    )
    (finding,) = rules.not_sustained(rule, context(child, D(2025, 3, 1)))
    assert finding.urgency >= 2  # the number of relapses
    assert "fell and came back" in finding.reason


def test_a_steady_score_is_no_relapse(alice, child):
    concern(alice, child, D(2024, 6, 1), "neglect.nutrition")
    rule = Rule(
        code="not-sustained",
        type="not_sustained",
        params={"times": 1, "within_months": 6, "lookback_months": 24},
    )
    assert rules.not_sustained(rule, context(child, D(2025, 3, 1))) == []


def test_turnover_counts_allocations_in_the_last_twelve_months(mallory, child):
    for month in [1, 3, 6, 9]:
        services.worker_allocate(actor=mallory, child=child, team=f"T{month}", on=D(2025, month, 1))
    rule = Rule(code="turnover", type="turnover", params={"changes": 1, "months": 12})
    (year_end,) = rules.turnover(rule, context(child, D(2025, 12, 31)))
    assert year_end.urgency == 4
    (spring,) = rules.turnover(rule, context(child, D(2026, 4, 1)))
    assert spring.urgency == 2


def test_the_childs_voice_about_harm_is_what_goes_unanswered(bob, child):
    said = services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CHILD_VOICE,
        event_date=D(2026, 3, 1),
        categories=["physical_abuse"],
        summary="Told her teacher",
        child_words="Mum hits me with a shoe",
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CHILD_VOICE,
        event_date=D(2026, 1, 1),
        categories=["other"],
        summary="Talked about a pet",
    )
    rule = Rule(
        code="voice-unanswered",
        type="voice_unanswered",
        params={"hours": 72, "categories": HARM},
    )
    (finding,) = rules.voice_unanswered(rule, context(child, D(2026, 4, 1)))
    assert [e.public_id for e in finding.evidence] == [str(said.public_id)]
    assert finding.categories == ["physical_abuse"]
