"""Patterns that serious case reviews keep naming, as functions escalation can call.

Each takes a child already fetched for the caller and a date, and reads only the
chronology up to that date, so a replay of history gets the answers it would
have got at the time.
"""

import datetime
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from chronology.models import Adult, Allocation, Child, Entry
from chronology.vocabulary import EntryKind

from .models import ScoringConfig
from .selectors import month_ends, score_history

HARM_CATEGORIES = frozenset(
    {
        "physical_abuse",
        "sexual_abuse",
        "emotional_abuse",
        "domestic_abuse",
        "neglect.nutrition",
        "neglect.hygiene",
        "neglect.clothing",
        "neglect.home_conditions",
        "neglect.health",
        "neglect.supervision",
        "neglect.education",
        "neglect.emotional",
        "self_harm",
    }
)


@dataclass(frozen=True)
class Relapse:
    """An improvement that did not last: the score fell from a peak, then came back."""

    peak_on: datetime.date
    peak: Decimal
    fell_on: datetime.date
    fell_to: Decimal
    returned_on: datetime.date


def improvement_not_sustained(
    child: Child,
    as_of: datetime.date,
    *,
    within_months: int = 6,
    lookback_months: int = 24,
    min_fall: Decimal = Decimal("0.2"),
    config: ScoringConfig | None = None,
) -> list[Relapse]:
    """Each time the child's score fell by at least `min_fall` (a fraction) from a
    peak and then returned to the peak within `within_months` of the fall, over
    the last `lookback_months` of month-end scores. Escalation fires at K or more:
    improvement taken at face value that did not hold (disguised compliance,
    over-optimism). A fall that lasts longer than `within_months` counts as a
    real improvement, and the watch starts again from there."""
    months = list(lookback_month_ends(as_of, lookback_months))
    totals = [score.total for score in score_history(child, months, config)]
    return relapses_in(months, totals, within_months=within_months, min_fall=min_fall)


@functools.lru_cache(maxsize=64)  # a sweep asks the same question for every child
def lookback_month_ends(as_of: datetime.date, lookback_months: int) -> tuple[datetime.date, ...]:
    """The month ends of the `lookback_months` before `as_of`, and `as_of` itself last."""
    start_year, start_month = divmod(as_of.year * 12 + as_of.month - 1 - lookback_months, 12)
    return tuple(month_ends(datetime.date(start_year, start_month + 1, 1), as_of))


def relapses_in(
    months: Sequence[datetime.date],
    totals: list[Decimal],
    *,
    within_months: int = 6,
    min_fall: Decimal = Decimal("0.2"),
) -> list[Relapse]:
    """The relapses in a series of month-end totals (see improvement_not_sustained).
    Pure, so escalation can run it over scores it has already worked out."""
    relapses = []
    peak_index, fell_index = 0, None
    for index, total in enumerate(totals):
        peak = totals[peak_index]
        if fell_index is None:
            if total >= peak:
                peak_index = index
            elif peak > 0 and total <= peak * (1 - min_fall):
                fell_index = index
        elif total >= peak:
            relapses.append(
                Relapse(
                    months[peak_index], peak, months[fell_index], totals[fell_index], months[index]
                )
            )
            peak_index, fell_index = index, None
        elif index - fell_index > within_months:
            peak_index, fell_index = index, None
    return relapses


def child_voice_about_harm(
    child: Child, as_of: datetime.date, categories: frozenset[str] = HARM_CATEGORIES
) -> list[Entry]:
    """What the child said, to any agency, about harm, up to `as_of`, oldest first:
    child's-voice entries, and the child's words recorded on any other entry."""
    said = Q(kind=EntryKind.CHILD_VOICE) | (Q(child_words__isnull=False) & ~Q(child_words=""))
    return list(
        Entry.objects.filter(
            said,
            child_rows__child=child,
            event_date__lte=as_of,
            category_rows__category__in=categories,
        )
        .current()
        .distinct()
        .select_related("agency")
        .order_by("event_date", "recorded_at")
    )


def allocation_changes(child: Child, as_of: datetime.date, months: int = 12) -> list[Allocation]:
    """New workers or teams allocated in the `months` up to `as_of`: each one a
    chance for the case to start again from nothing."""
    since = as_of - datetime.timedelta(days=round(months * 365.25 / 12))
    return list(
        Allocation.objects.filter(child=child, started_on__gt=since, started_on__lte=as_of)
        .select_related("worker", "agency")
        .order_by("started_on")
    )


def risky_adults(child: Child) -> list[Adult]:
    """Adults linked to the child, or living in its household, who are known to
    police or probation or assessed as a risk to children."""
    linked = Q(child_links__child=child)
    if child.household_id:
        linked |= Q(household_id=child.household_id)
    flagged = Q(known_to_police_or_probation=True) | Q(poses_risk_to_children=True)
    return list(Adult.objects.filter(linked & flagged).distinct())
