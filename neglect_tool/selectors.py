"""Scores, history and maps, computed from the chronology.

These functions take children the caller has already fetched through
chronology.selectors (which scope every read to the user); they do no access
checks of their own. Every score, here and in escalation's evaluations, is worked
out from the rows `evidence_for_children` loads, by `scoring`'s arithmetic, so
no two pages can disagree about a child.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast

from chronology.models import Amendment, Child, EntryCategory, EntryChild
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


@dataclass
class Evidence:
    """What one child's score rests on: a row for each category of each standing
    entry of a scored kind, and each standing assessment with grades."""

    rows: list[EvidenceRow] = field(default_factory=list)
    assessments: list[AssessmentRow] = field(default_factory=list)


def evidence_for_children(
    child_ids: Iterable[int], *, until: datetime.date, config: ScoringConfig
) -> dict[int, Evidence]:
    """{child id: Evidence} for each of the children, dated up to `until`, in one
    query: the one loader of scoring evidence, used by the child's pages, the maps,
    the API and escalation's evaluations, so what counts is written once.

    A standing entry is one no amendment supersedes (Entry.objects.current). The
    categories are gathered per entry through their index: joining the category
    table instead lets PostgreSQL choose to scan all of it for a child with a long
    chronology."""
    ids = list(child_ids)
    evidence = {child_id: Evidence() for child_id in ids}
    if not ids:
        return evidence
    superseded = Amendment.objects.filter(entry=OuterRef("entry"))
    categories = EntryCategory.objects.filter(entry=OuterRef("entry")).order_by("id")
    links = (
        EntryChild.objects.filter(
            child_id__in=ids,
            entry__event_date__lte=until,
            entry__kind__in=[*config.kind_factors, EntryKind.ASSESSMENT],
        )
        .exclude(Exists(superseded))
        .order_by()
        # Text, not a UUID object per row: scoring keeps the id as a string.
        .annotate(
            public_id_text=Cast("entry__public_id", output_field=CharField()),
            category_list=ArraySubquery(categories.values("category")),
        )
        .values_list(
            "child_id",
            "public_id_text",
            "entry__event_date",
            "entry__agency__code",
            "entry__kind",
            "entry__severity",
            "entry__scores",
            "category_list",
        )
    )
    for child_id, entry_id, day, agency, kind, severity, scores, codes in links:
        found = evidence[child_id]
        if kind == EntryKind.ASSESSMENT and scores:
            found.assessments.append(AssessmentRow(entry_id, day, scores))
        if kind in config.kind_factors:
            found.rows.extend(
                EvidenceRow(entry_id, day, agency, kind, severity, category) for category in codes
            )
    return evidence


def scores_for_children(
    children: Iterable[Child | int], as_of: datetime.date, config: ScoringConfig | None = None
) -> dict[int, Score]:
    """Score many children at once: one query per batch of BATCH_SIZE children,
    never one per child. Returns {child id: Score}."""
    config = config or scoring_config_active()
    domains = domain_codes()
    child_ids = [c.pk if isinstance(c, Child) else c for c in children]
    results: dict[int, Score] = {}
    for start in range(0, len(child_ids), BATCH_SIZE):
        batch = child_ids[start : start + BATCH_SIZE]
        for child_id, found in evidence_for_children(batch, until=as_of, config=config).items():
            results[child_id] = score_evidence(
                found.rows, found.assessments, as_of=as_of, rules=config, domains=domains
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


def _evidence_for_child(child: Child, until: datetime.date, config: ScoringConfig) -> Evidence:
    return evidence_for_children([child.pk], until=until, config=config)[child.pk]


def child_score(child: Child, as_of: datetime.date, config: ScoringConfig | None = None) -> Score:
    """One child's score as of a date, with every contribution that makes it up."""
    config = config or scoring_config_active()
    found = _evidence_for_child(child, as_of, config)
    return score_evidence(
        found.rows, found.assessments, as_of=as_of, rules=config, domains=domain_codes()
    )


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
    found = _evidence_for_child(child, max(days), config)
    return _history(found, days, config, domains, explain_last, explain_up_to)


def _history(found, days, config, domains, explain_last=False, explain_up_to=None) -> list[Score]:
    prepared = prepare_evidence(found.rows, rules=config, domains=domains)
    if explain_up_to is not None and len(prepared) > explain_up_to:
        explain_last = False
    return [
        score_prepared(
            prepared,
            found.assessments,
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
    found = _evidence_for_child(child, max(days), config)
    prepared = prepare_evidence(found.rows, rules=config, domains=domains)
    explain = explain_up_to is None or len(prepared) <= explain_up_to
    last = score_prepared(
        prepared, found.assessments, as_of=days[-1], rules=config, domains=domains, explain=explain
    )
    earlier = totals_on(prepared, found.assessments, days[:-1], rules=config, domains=domains)
    return [*earlier, last.total], last


def neglect_maps(
    children: list[Child],
    start: datetime.date,
    end: datetime.date,
    config: ScoringConfig | None = None,
) -> list[dict]:
    """For each child, a domain × month grid of domain scores (as at each month's
    end), over the same months, from one fetch of all the children's evidence:
    a child's own map and the household's siblings side by side alike.
    `children` must already be scoped to the user."""
    config = config or scoring_config_active()
    domains = list(Domain.objects.filter(is_active=True))
    codes = [d.code for d in domains]
    months = month_ends(start, end)
    evidence = evidence_for_children([c.pk for c in children], until=end, config=config)
    maps = []
    for child in children:
        history = _history(evidence[child.pk], months, config, codes)
        maps.append(
            {
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
        )
    return maps


def neglect_map(
    child: Child,
    start: datetime.date,
    end: datetime.date,
    config: ScoringConfig | None = None,
) -> dict:
    """A domain × month grid of the child's domain scores (as at each month's end)."""
    return neglect_maps([child], start, end, config)[0]


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
