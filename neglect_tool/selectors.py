"""Scores, history and maps, computed from the chronology.

These functions take children the caller has already fetched through
chronology.selectors (which scope every read to the user); they do no access
checks of their own. Both `child_score` and `scores_for_children` feed the same
rows to `scoring.score_evidence`, so they cannot disagree.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef

from chronology.models import Amendment, Child, EntryChild
from chronology.selectors import scoring_rows_for_child
from chronology.vocabulary import EntryKind

from .models import ConfigStatus, Domain, ScoringConfig
from .scoring import (
    AssessmentRow,
    EvidenceRow,
    Score,
    prepare_evidence,
    score_evidence,
    score_prepared,
    totals_on,
)

# Children scored per query in scores_for_children: big enough to amortise the
# query, small enough to keep memory flat at county scale.
BATCH_SIZE = 2000


def domain_name_stored(code: str) -> str | None:
    """The name of the domain with this code, as stored (one an admin added), or None."""
    return Domain.objects.filter(code=code).values_list("name", flat=True).first()


def scoring_config_active() -> ScoringConfig:
    return ScoringConfig.objects.get(status=ConfigStatus.ACTIVE)


def domain_codes() -> list[str]:
    return list(Domain.objects.filter(is_active=True).values_list("code", flat=True))


def _current_entry_rows(child_ids: Iterable[int], as_of: datetime.date, kinds: Iterable[str]):
    """(child id, entry id, date, agency code, kind, severity, category) for each
    category of each standing entry about the children, up to `as_of`: one query."""
    superseded = Amendment.objects.filter(entry=OuterRef("entry"))
    return (
        EntryChild.objects.filter(
            child_id__in=list(child_ids),
            entry__event_date__lte=as_of,
            entry__kind__in=list(kinds),
            entry__category_rows__isnull=False,
        )
        .exclude(Exists(superseded))
        .values_list(
            "child_id",
            "entry__public_id",
            "entry__event_date",
            "entry__agency__code",
            "entry__kind",
            "entry__severity",
            "entry__category_rows__category",
        )
    )


def _assessment_rows(child_ids: Iterable[int], as_of: datetime.date):
    superseded = Amendment.objects.filter(entry=OuterRef("entry"))
    return (
        EntryChild.objects.filter(
            child_id__in=list(child_ids),
            entry__event_date__lte=as_of,
            entry__kind=EntryKind.ASSESSMENT,
            entry__scores__isnull=False,
        )
        .exclude(Exists(superseded))
        .values_list("child_id", "entry__public_id", "entry__event_date", "entry__scores")
    )


def scores_for_children(
    children: Iterable[Child | int], as_of: datetime.date, config: ScoringConfig | None = None
) -> dict[int, Score]:
    """Score many children at once: two queries per batch of BATCH_SIZE children,
    never one per child. Returns {child id: Score}."""
    config = config or scoring_config_active()
    domains = domain_codes()
    child_ids = [c.pk if isinstance(c, Child) else c for c in children]
    results: dict[int, Score] = {}
    for start in range(0, len(child_ids), BATCH_SIZE):
        batch = child_ids[start : start + BATCH_SIZE]
        evidence: dict[int, list[EvidenceRow]] = defaultdict(list)
        for child_id, entry_id, day, agency, kind, severity, category in _current_entry_rows(
            batch, as_of, config.kind_factors
        ):
            evidence[child_id].append(
                EvidenceRow(str(entry_id), day, agency, kind, severity, category)
            )
        assessments: dict[int, list[AssessmentRow]] = defaultdict(list)
        for child_id, entry_id, day, scores in _assessment_rows(batch, as_of):
            assessments[child_id].append(AssessmentRow(str(entry_id), day, scores))
        for child_id in batch:
            results[child_id] = score_evidence(
                evidence[child_id],
                assessments[child_id],
                as_of=as_of,
                rules=config,
                domains=domains,
            )
    return results


def scoring_config_and_domains() -> tuple[ScoringConfig, list[str]]:
    """The active configuration and the active domains' codes (as domain_codes()
    lists them), in one query."""
    codes = Domain.objects.filter(is_active=True).order_by("position", "code").values("code")
    config = ScoringConfig.objects.annotate(active_domains=ArraySubquery(codes)).get(
        status=ConfigStatus.ACTIVE
    )
    return config, list(config.active_domains)


def _evidence_for_child(child: Child, as_of: datetime.date, config: ScoringConfig):
    """The same rows as _current_entry_rows, fetched from the child's side as plain
    values in one query (chronology.selectors.scoring_rows_for_child): for a
    chronology of 5,000 entries, a fraction of the time Entry objects would take."""
    evidence: list[EvidenceRow] = []
    assessments: list[AssessmentRow] = []
    kinds = {*config.kind_factors, EntryKind.ASSESSMENT}
    for entry_id, day, agency, kind, severity, scores, categories in scoring_rows_for_child(
        child=child, until=as_of, kinds=kinds
    ):
        if kind == EntryKind.ASSESSMENT and scores:
            assessments.append(AssessmentRow(str(entry_id), day, scores))
        if kind in config.kind_factors:
            evidence.extend(
                EvidenceRow(str(entry_id), day, agency, kind, severity, category)
                for category in categories
            )
    return evidence, assessments


def child_score(child: Child, as_of: datetime.date, config: ScoringConfig | None = None) -> Score:
    """One child's score as of a date, with every contribution that makes it up."""
    config = config or scoring_config_active()
    evidence, assessments = _evidence_for_child(child, as_of, config)
    return score_evidence(evidence, assessments, as_of=as_of, rules=config, domains=domain_codes())


def month_ends(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The last day of each month from start's month to end's month (end itself for the last)."""
    days = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        next_first = datetime.date(year + month // 12, month % 12 + 1, 1)
        days.append(min(next_first - datetime.timedelta(days=1), end))
        year, month = next_first.year, next_first.month
    return days


def score_history(
    child: Child,
    days: list[datetime.date],
    config: ScoringConfig | None = None,
    *,
    explain_last: bool = False,
    explain_up_to: int | None = None,
) -> list[Score]:
    """The child's score on each of `days` (totals and domains, without the list of
    contributions, except for the last day when `explain_last`), from one fetch of
    the chronology, prepared once. A back-dated entry changes every score from its
    event date on. With `explain_up_to`, the last day is explained only if the
    child has at most that many scored rows: listing thousands costs more than the
    scores, and a page can link to the full list instead."""
    if not days:
        return []
    if config is None:
        config, domains = scoring_config_and_domains()
    else:
        domains = domain_codes()
    evidence, assessments = _evidence_for_child(child, max(days), config)
    prepared = prepare_evidence(evidence, rules=config, domains=domains)
    if explain_up_to is not None and len(prepared) > explain_up_to:
        explain_last = False
    return [
        score_prepared(
            prepared,
            assessments,
            as_of=day,
            rules=config,
            domains=domains,
            explain=explain_last and day == days[-1],
        )
        for day in days
    ]


def score_with_trend(
    child: Child,
    days: list[datetime.date],
    *,
    explain_up_to: int | None = None,
    config: ScoringConfig | None = None,
    domains: list[str] | None = None,
) -> tuple[list[Decimal], Score]:
    """The child's total on each of `days`, and the whole score on the last (explained
    as score_history explains it): what the child's page shows, from one fetch. The
    totals are score_history's to the last place, worked out in one pass
    (scoring.totals_on) rather than a Score a day. `config` and `domains`, if the
    caller has them, as scoring_config_and_domains() gives them."""
    if config is None or domains is None:
        config, domains = scoring_config_and_domains()
    evidence, assessments = _evidence_for_child(child, max(days), config)
    prepared = prepare_evidence(evidence, rules=config, domains=domains)
    explain = explain_up_to is None or len(prepared) <= explain_up_to
    last = score_prepared(
        prepared, assessments, as_of=days[-1], rules=config, domains=domains, explain=explain
    )
    earlier = totals_on(prepared, assessments, days[:-1], rules=config, domains=domains)
    return [*earlier, last.total], last


def neglect_map(
    child: Child,
    start: datetime.date,
    end: datetime.date,
    config: ScoringConfig | None = None,
) -> dict:
    """A domain × month grid of domain scores (as at each month's end)."""
    months = month_ends(start, end)
    history = score_history(child, months, config)
    domains = list(Domain.objects.filter(is_active=True))
    return {
        "child": child,
        "months": months,
        "domains": domains,
        "rows": [
            {"domain": d, "cells": [score.by_domain.get(d.code) for score in history]}
            for d in domains
        ],
        "levels": [score.level for score in history],
        "totals": [score.total for score in history],
    }


# The most children a scoring preview scores on a page request (two queries a
# batch of BATCH_SIZE): enough for a county's children under a plan or watched
# closely, bounded so that the page answers in seconds.
PREVIEW_LIMIT = 10_000


def scoring_preview(*, draft: ScoringConfig, active: ScoringConfig, as_of: datetime.date) -> dict:
    """What activating `draft` would do to levels today, counted, naming no child:
    how many children are at each level under each version, and how many would
    move up or down. The children with the highest stored levels first, up to
    PREVIEW_LIMIT (the page says when the limit was reached). For admins, who
    configure the system but do not read children's records."""
    # The stored levels are escalation's (ChildWatch, a child's `watch`), read through
    # the relation so that this app need not import the one above it.
    ids = list(
        Child.objects.filter(watch__isnull=False)
        .order_by("-watch__level", "-watch__score", "pk")
        .values_list("pk", flat=True)[: PREVIEW_LIMIT + 1]
    )
    limited = len(ids) > PREVIEW_LIMIT
    ids = ids[:PREVIEW_LIMIT]
    now = scores_for_children(ids, as_of, config=active)
    then = scores_for_children(ids, as_of, config=draft)
    counts = {level: [0, 0] for level in (1, 2, 3, 4)}
    up = down = 0
    for child_id in ids:
        before, after = now[child_id].level, then[child_id].level
        counts[before][0] += 1
        counts[after][1] += 1
        up += after > before
        down += after < before
    return {
        "children": len(ids),
        "limited": limited,
        "levels": [(level, *counts[level]) for level in (4, 3, 2, 1)],
        "up": up,
        "down": down,
    }
