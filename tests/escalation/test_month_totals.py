"""Month-end totals kept on the watch (ChildWatch.month_totals, issue 7).

An evaluation keeps the totals it worked out, keyed by the evidence they rest on,
so the next night's sweep and the child's page need not score every row again.
What is kept must always be what a fresh scoring gives: a back-dated entry, or
one not yet evaluated, must never leave an old figure on show.
"""

import datetime
import re
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.vocabulary import EntryKind
from core.dates import months_back
from escalation import tasks
from escalation.models import ChildWatch
from escalation.rules import lookback_month_ends
from escalation.selectors import trend_stored
from escalation.services import child_evaluate, children_evaluate_due
from neglect_tool.selectors import (
    child_score,
    month_ends,
    score_history,
    scoring_config_and_domains,
)
from safeguarding.case_views import CONTRIBUTIONS_ON_CHILD_PAGE, TREND_MONTHS
from tests.chronology.test_child_page_cost import CHILD_PAGE_QUERIES

NEGLECT = ["neglect.nutrition", "neglect.hygiene", "neglect.clothing", "neglect.supervision"]


def record_long_history(alice, bob, child, entries=10):
    """Entries from two agencies over two years, four scored rows each: more rows
    than the child page explains (CONTRIBUTIONS_ON_CHILD_PAGE)."""
    today = timezone.localdate()
    for n in range(entries):
        services.entry_record(
            actor=alice if n % 2 else bob,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=NEGLECT,
            severity=1 + n % 4,
            event_date=today - datetime.timedelta(days=70 * n),
            summary=f"Concern {n}",
        )


def kept_totals(child, days):
    kept = ChildWatch.objects.get(child=child).month_totals["totals"]
    return [Decimal(kept[day.isoformat()]).scaleb(-3) for day in days]


def test_kept_totals_are_a_fresh_scoring_and_follow_a_back_dated_entry(alice, bob, child):
    record_long_history(alice, bob, child)
    child_evaluate(child_id=child.pk)
    days = list(lookback_month_ends(timezone.localdate(), 24))
    fresh = [score.total for score in score_history(child, days)]
    assert kept_totals(child, days) == fresh
    assert len(set(fresh)) > 5  # a real history, not a row of zeros

    # A concern of 200 days ago changes every total from then on: the evidence key
    # changes, so nothing kept from before it may be reused.
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.home_conditions"],
        severity=5,
        event_date=timezone.localdate() - datetime.timedelta(days=200),
        summary="Found later: a concern from the spring",
    )
    child_evaluate(child_id=child.pk)
    refreshed = [score.total for score in score_history(child, days)]
    assert refreshed != fresh
    assert kept_totals(child, days) == refreshed


def test_a_second_evaluation_reuses_the_kept_totals_and_keeps_the_same_numbers(alice, bob, child):
    record_long_history(alice, bob, child)
    child_evaluate(child_id=child.pk)
    first = ChildWatch.objects.get(child=child).month_totals
    child_evaluate(child_id=child.pk)
    assert ChildWatch.objects.get(child=child).month_totals == first
    # Today's total and the 24 month ends before it: it does not grow day by day.
    assert len(first["totals"]) == 25
    assert first["rows"] == 10 * len(NEGLECT)


def kept_trend(child):
    today = timezone.localdate()
    months = month_ends(months_back(today, TREND_MONTHS), today)
    config, domains = scoring_config_and_domains()
    return trend_stored(
        child=child,
        days=months,
        more_rows_than=CONTRIBUTIONS_ON_CHILD_PAGE,
        config=config,
        domains=domains,
    )


def shown(page: str) -> tuple[Decimal, str]:
    total = Decimal(re.search(r"score ([\d.]+) today", page).group(1))
    trend = re.search(r"Last 12 months:</span>(.*?)</div>", page, re.S).group(1)
    return total, trend


def test_the_child_page_shows_the_same_figures_kept_or_worked_out_and_never_stale(
    client, alice, bob, child, django_assert_num_queries
):
    record_long_history(alice, bob, child)
    client.force_login(alice)
    url = reverse("child_detail", args=[child.public_id])
    with django_assert_num_queries(CHILD_PAGE_QUERIES):  # never evaluated: from every row
        worked_out = shown(client.get(url).content.decode())

    child_evaluate(child_id=child.pk)
    assert kept_trend(child) is not None
    # Kept: the watch stands in for reading and scoring every row, one query fewer.
    with django_assert_num_queries(CHILD_PAGE_QUERIES - 1):
        kept = shown(client.get(url).content.decode())
    assert kept == worked_out
    # The page shows the score to one decimal.
    assert kept[0] == child_score(child, timezone.localdate()).total.quantize(Decimal("0.1"))

    # An entry the workers have not evaluated yet: the kept figures no longer hold.
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.home_conditions"],
        severity=5,
        event_date=timezone.localdate() - datetime.timedelta(days=3),
        summary="A new concern",
    )
    assert kept_trend(child) is None
    after = shown(client.get(url).content.decode())
    assert after[0] == child_score(child, timezone.localdate()).total.quantize(Decimal("0.1"))
    assert after[0] > kept[0]


def test_no_night_re_sweep_the_child_is_due_again_by_the_day_its_score_fades(alice, bob, child):
    """No job makes every child due: after an evaluation the child waits for its
    own next moment, never later than the first day a fresh scoring gives a lower
    level, and until then no sweep takes it."""
    record_long_history(alice, bob, child)
    child_evaluate(child_id=child.pk)
    watch = ChildWatch.objects.get(child=child)
    today = timezone.localdate()
    assert watch.due_since is None and watch.level > 1
    # The first day the level is lower (a score without new entries only fades).
    low, high = today, today + datetime.timedelta(days=5000)
    while (high - low).days > 1:
        middle = low + (high - low) // 2
        if child_score(child, middle).level < watch.level:
            high = middle
        else:
            low = middle
    due = timezone.localtime(watch.next_check_at)
    assert today < due.date() <= high

    assert tasks.evaluations_sweep() == 0  # nothing is due now
    taken, evaluated = children_evaluate_due(
        now=due + datetime.timedelta(minutes=1), grace=datetime.timedelta(0), limit=10
    )
    assert (taken, evaluated) == (1, 1)
    watch.refresh_from_db()
    assert watch.level == child_score(child, due.date()).level
