"""Properties the neglect score must keep, checked by hypothesis."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronology.vocabulary import Category
from neglect_tool.models import ScoringConfig
from neglect_tool.scoring import (
    PLACES,
    AssessmentRow,
    EvidenceRow,
    prepare_evidence,
    score_evidence,
    score_prepared,
    thousandths,
    totals_on,
)
from neglect_tool.selectors import domain_codes

AGENCIES = ["school", "police", "health", "housing", "social_care"]
KINDS = ["concern", "visit", "child_voice", "referral", "notification", "note", "decision"]
START = datetime.date(2020, 1, 1)

rows_strategy = st.lists(
    st.builds(
        EvidenceRow,
        entry_id=st.uuids().map(str),
        event_date=st.integers(0, 1500).map(lambda d: START + datetime.timedelta(days=d)),
        agency=st.sampled_from(AGENCIES),
        kind=st.sampled_from(KINDS),
        severity=st.one_of(st.none(), st.integers(1, 5)),
        category=st.sampled_from(Category.values),
    ),
    max_size=40,
)
as_of_strategy = st.integers(0, 1800).map(lambda d: START + datetime.timedelta(days=d))
quick = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def rules(db):
    return ScoringConfig.objects.get(version=1), domain_codes()


def score(rows, as_of, rules):
    config, domains = rules
    return score_evidence(rows, [], as_of=as_of, rules=config, domains=domains)


@quick
@given(rows=rows_strategy, extra=rows_strategy, as_of=as_of_strategy)
def test_adding_a_concern_never_lowers_the_score_at_the_same_date(rules, rows, extra, as_of):
    concerns = [
        EvidenceRow(r.entry_id, r.event_date, r.agency, "concern", r.severity, r.category)
        for r in extra
    ]
    assert score(rows + concerns, as_of, rules).total >= score(rows, as_of, rules).total


@quick
@given(rows=rows_strategy, as_of=as_of_strategy, later=st.integers(1, 1000))
def test_with_no_new_entries_the_score_never_rises_as_time_passes(rules, rows, as_of, later):
    # Only entries dated up to as_of: nothing new happens between the two dates.
    rows = [r for r in rows if r.event_date <= as_of]
    after = as_of + datetime.timedelta(days=later)
    before_score, after_score = score(rows, as_of, rules), score(rows, after, rules)
    assert after_score.total <= before_score.total
    assert after_score.level <= before_score.level


@quick
@given(rows=rows_strategy, as_of=as_of_strategy, data=st.data())
def test_the_order_entries_were_logged_in_does_not_change_the_score(rules, rows, as_of, data):
    shuffled = data.draw(st.permutations(rows))
    first, second = score(rows, as_of, rules), score(shuffled, as_of, rules)
    assert (first.total, first.by_domain) == (second.total, second.by_domain)
    assert first.contributions == second.contributions


@quick
@given(rows=rows_strategy, as_of=as_of_strategy)
def test_the_contributions_sum_exactly_to_the_score(rules, rows, as_of):
    result = score(rows, as_of, rules)
    assert sum((c.value for c in result.contributions), Decimal("0")) == result.total
    assert sum(result.by_domain.values(), Decimal("0")) == result.total
    assert all(c.value > 0 and c.reason for c in result.contributions)


def test_corroboration_by_a_second_agency_raises_each_entry(rules):
    school = EvidenceRow(
        "a", datetime.date(2024, 1, 10), "school", "concern", 2, "neglect.nutrition"
    )
    health = EvidenceRow(
        "b", datetime.date(2024, 2, 10), "health", "concern", 2, "neglect.nutrition"
    )
    alone = score([school], datetime.date(2024, 3, 1), rules)
    together = score([school, health], datetime.date(2024, 3, 1), rules)
    school_alone = alone.contributions[0]
    school_together = next(c for c in together.contributions if c.entry_id == "a")
    assert school_together.value == (school_alone.value * Decimal("1.5")).quantize(Decimal("0.001"))
    assert "corroborated" in school_together.reason


@settings(max_examples=2000, deadline=None)
@given(
    value=st.one_of(
        st.floats(0, 1000, allow_nan=False),
        # Ties and near-ties, where rounding half to even matters.
        st.integers(0, 10**6).map(lambda n: n / 1000 + 0.0005),
        st.integers(0, 10**6).map(lambda n: n / 2000),
    )
)
def test_thousandths_rounds_exactly_as_decimal_quantize(value):
    assert thousandths(value) == int(Decimal(value).quantize(PLACES).scaleb(3))


assessments_strategy = st.lists(
    st.builds(
        AssessmentRow,
        entry_id=st.uuids().map(str),
        event_date=st.integers(0, 1500).map(lambda d: START + datetime.timedelta(days=d)),
        scores=st.dictionaries(
            st.sampled_from(["nutrition", "hygiene", "safety", "housing"]), st.integers(1, 5)
        ),
    ),
    max_size=3,
)


@quick
@given(
    rows=rows_strategy,
    assessments=assessments_strategy,
    days=st.lists(as_of_strategy, min_size=1, max_size=8),
)
def test_totals_on_many_days_agree_with_scoring_each_day(rules, rows, assessments, days):
    # The escalation sweep's one-pass history must give the score pages' numbers.
    config, domains = rules
    prepared = prepare_evidence(rows, rules=config, domains=domains)
    one_by_one = [
        score_prepared(prepared, assessments, as_of=day, rules=config, domains=domains).total
        for day in days
    ]
    assert totals_on(prepared, assessments, days, rules=config, domains=domains) == one_by_one
