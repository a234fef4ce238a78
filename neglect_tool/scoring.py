"""The cumulative neglect score: pure arithmetic over evidence rows.

Every entry that counts contributes, to the domain its category feeds:

    weight(category) × kind factor × severity factor × decay(age) × corroboration

- decay(age) = 0.5 ** (age in days / half-life), so old concerns fade but never vanish;
- corroboration is the configured factor when another agency reported the same
  domain within the window (either side) of the entry, and 1 otherwise.

The latest assessment adds, for each graded domain, assessment weight × (grade - 1)
× decay(age of the assessment).

Each contribution is rounded to 0.001 as a Decimal, and the score is the exact sum
of the contributions, so an explanation always adds up to the number shown. The
arithmetic does not depend on the order rows arrive in.

This module knows nothing of the database: `neglect_tool.selectors.evidence_for_children`
loads the rows, for every page and for escalation alike, and every value comes
from `weigh`, so a total, a trend and an explanation cannot disagree.
"""

import bisect
import datetime
import hashlib
import math
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from chronology.vocabulary import category_name, domain_name, kind_name

PLACES = Decimal("0.001")

LEVEL_NAMES = {1: "Universal", 2: "Early help", 3: "Targeted", 4: "Statutory"}


class ScoringRules(Protocol):
    """What scoring needs from a configuration version (see models.ScoringConfig)."""

    version: int
    half_life_days: int
    corroboration_window_days: int
    corroboration_factor: Decimal
    severity_factors: dict
    kind_factors: dict
    category_rules: dict
    assessment_keys: dict
    assessment_weight: Decimal

    def level_for(self, total: Decimal) -> int: ...

    def level_starts_at(self, level: int) -> Decimal: ...


@dataclass(frozen=True)
class EvidenceRow:
    """One category of one chronology entry about a child."""

    entry_id: str
    event_date: datetime.date
    agency: str
    kind: str
    severity: int | None
    category: str


@dataclass(frozen=True)
class AssessmentRow:
    entry_id: str
    event_date: datetime.date
    scores: dict


@dataclass(frozen=True)
class Contribution:
    entry_id: str
    event_date: datetime.date
    agency: str
    kind: str
    category: str
    domain: str
    value: Decimal
    weight: float
    kind_factor: float
    severity: int
    severity_factor: float
    decay: float
    corroboration: float

    @property
    def reason(self) -> str:
        """Why this entry counts this much, in words a manager can check."""
        if self.kind == "assessment":
            domain = domain_name(self.domain, look_up=False).lower()
            return (
                f"latest assessment graded {domain} {self.severity} of 5 "
                f"(×{self.severity_factor:g}); age decay ×{self.decay:.2f}"
            )
        parts = [
            f"{category_name(self.category)} counts towards "
            f"{domain_name(self.domain, look_up=False).lower()} (weight {self.weight:g})",
            f"severity {self.severity} (×{self.severity_factor:g})",
        ]
        if self.kind_factor != 1:
            parts.append(f"a {kind_name(self.kind).lower()} counts ×{self.kind_factor:g}")
        parts.append(f"age decay ×{self.decay:.2f}")
        if self.corroboration != 1:
            parts.append(f"corroborated by another agency (×{self.corroboration:g})")
        return "; ".join(parts)


@dataclass
class Score:
    as_of: datetime.date
    config_version: int
    total: Decimal
    level: int
    by_domain: dict[str, Decimal]
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]


def decay_factor(age_days: int, half_life_days: int) -> float:
    return 0.5 ** (age_days / half_life_days)


def weigh(item: "PreparedRow", day: int, factor: float, half_life: int) -> tuple[int, float, float]:
    """What a prepared row contributes on `day` (an ordinal): (the value in whole
    thousandths, the decay, the corroboration factor). The one place the score's
    arithmetic is written; every total and every explanation comes from here."""
    decay = decay_factor(day - item.ordinal, half_life)
    corroboration = (
        factor if item.corroborated_from is not None and item.corroborated_from <= day else 1.0
    )
    return thousandths(item.base * decay * corroboration), decay, corroboration


@dataclass(frozen=True)
class PreparedRow:
    """An evidence row with everything that does not depend on the scoring date
    worked out once, so a history of many dates costs little more than one."""

    row: EvidenceRow
    rule: dict
    severity: int
    base: float  # weight × kind factor × severity factor
    ordinal: int
    # The first day on which another agency's report of the same domain, within
    # the window, exists: the row counts as corroborated from then on.
    corroborated_from: int | None


def prepare_evidence(rows: list[EvidenceRow], *, rules: ScoringRules, domains: list[str]):
    """Filter and pre-compute rows for scoring on any date (see PreparedRow)."""
    usable = []
    by_domain: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in set(rows):
        if row.kind not in rules.kind_factors:
            continue
        rule = rules.category_rules.get(row.category)
        if not rule or not rule["domain"] or rule["domain"] not in domains or not rule["weight"]:
            continue
        usable.append((row, rule))
        by_domain[rule["domain"]].append((row.event_date.toordinal(), row.agency))
    for items in by_domain.values():
        items.sort()
    window = rules.corroboration_window_days
    prepared = []
    for row, rule in usable:
        ordinal = row.event_date.toordinal()
        items = by_domain[rule["domain"]]
        low = bisect.bisect_left(items, (ordinal - window, ""))
        high = bisect.bisect_right(items, (ordinal + window, "\uffff"))
        # The earliest other agency's report in the window (items are in day order).
        partner = next((items[i][0] for i in range(low, high) if items[i][1] != row.agency), None)
        severity = row.severity or rule["default_severity"]
        prepared.append(
            PreparedRow(
                row=row,
                rule=rule,
                severity=severity,
                base=rule["weight"]
                * rules.kind_factors[row.kind]
                * rules.severity_factors[str(severity)],
                ordinal=ordinal,
                corroborated_from=max(ordinal, partner) if partner is not None else None,
            )
        )
    return prepared


def score_evidence(
    rows: list[EvidenceRow],
    assessments: list[AssessmentRow],
    *,
    as_of: datetime.date,
    rules: ScoringRules,
    domains: list[str],
    explain: bool = True,
) -> Score:
    """Score one child as of a date from its evidence rows. Rows dated after
    `as_of` are ignored, so the same rows give the score on any past date."""
    prepared = prepare_evidence(rows, rules=rules, domains=domains)
    return score_prepared(
        prepared, assessments, as_of=as_of, rules=rules, domains=domains, explain=explain
    )


def score_prepared(
    prepared: list[PreparedRow],
    assessments: list[AssessmentRow],
    *,
    as_of: datetime.date,
    rules: ScoringRules,
    domains: list[str],
    explain: bool = True,
) -> Score:
    """The score on `as_of` from prepared rows. With explain=False the total and
    the domains are the same to the last place, but no contributions are listed
    (for histories and maps, which show only the numbers)."""
    day = as_of.toordinal()
    factor = float(rules.corroboration_factor)
    # Sums in whole thousandths: exact, like the Decimal sums they stand for, and
    # far cheaper than a Decimal for every row.
    by_domain = dict.fromkeys(domains, 0)
    contributions = []
    half_life = rules.half_life_days
    for item in prepared:
        if item.ordinal > day:
            continue
        value, decay, corroboration = weigh(item, day, factor, half_life)
        if value <= 0:
            continue
        by_domain[item.rule["domain"]] += value
        if explain:
            row = item.row
            contributions.append(
                Contribution(
                    entry_id=row.entry_id,
                    event_date=row.event_date,
                    agency=row.agency,
                    kind=row.kind,
                    category=row.category,
                    domain=item.rule["domain"],
                    value=Decimal(value).scaleb(-3),
                    weight=item.rule["weight"],
                    kind_factor=rules.kind_factors[row.kind],
                    severity=item.severity,
                    severity_factor=rules.severity_factors[str(item.severity)],
                    decay=decay,
                    corroboration=corroboration,
                )
            )
    for contribution in _assessment_contributions(assessments, as_of, rules, domains):
        if contribution.value > 0:
            by_domain[contribution.domain] += int(contribution.value.scaleb(3))
            if explain:
                contributions.append(contribution)
    contributions.sort(key=lambda c: (c.event_date, c.domain, c.category, c.entry_id))
    total = Decimal(sum(by_domain.values())).scaleb(-3)
    return Score(
        as_of=as_of,
        config_version=rules.version,
        total=total,
        level=rules.level_for(total),
        by_domain={domain: Decimal(n).scaleb(-3) for domain, n in by_domain.items()},
        contributions=contributions,
    )


def totals_on(
    prepared: list[PreparedRow],
    assessments: list[AssessmentRow],
    days: list[datetime.date],
    *,
    rules: ScoringRules,
    domains: list[str],
) -> list[Decimal]:
    """score_prepared(..., as_of=day).total for each of `days`, to the last place,
    without building a Score a day: the not-sustained rule asks for every month end
    of its look-back at each evaluation, and the child's page for a trend."""
    ordinals = [day.toordinal() for day in days]
    sums = [0] * len(days)
    factor = float(rules.corroboration_factor)
    half_life = rules.half_life_days
    for item in prepared:
        for index, day in enumerate(ordinals):
            if item.ordinal > day:
                continue
            rounded = weigh(item, day, factor, half_life)[0]
            if rounded > 0:
                sums[index] += rounded
    for index, on in enumerate(days):
        for contribution in _assessment_contributions(assessments, on, rules, domains):
            if contribution.value > 0:
                sums[index] += int(contribution.value.scaleb(3))
    return [Decimal(total).scaleb(-3) for total in sums]


def evidence_key(entry_ids, *, rules: ScoringRules, domains: list[str]) -> str:
    """A fingerprint of everything a child's score on a past day rests on: the
    configuration version, the domains, and the child's standing entries. Entries
    are never changed, only superseded by new ones with new ids, so the ids stand
    for the rows. Two scorings with the same key give every day the same total,
    which lets an evaluation keep month-end totals for the next (escalation's
    ChildWatch.month_totals). A digest, not Python's hash: worker processes differ."""
    digest = hashlib.blake2b(array("q", sorted(entry_ids)).tobytes(), digest_size=12).hexdigest()
    return f"{evidence_key_prefix(rules=rules, domains=domains)}{digest}"


def evidence_key_prefix(*, rules: ScoringRules, domains: list[str]) -> str:
    """The part of an evidence key that names the configuration and the domains."""
    return f"{rules.version}:{','.join(domains)}:"


def thousandths(value: float) -> int:
    """`value` rounded to 0.001, as a whole number of thousandths: exactly what
    Decimal(value).quantize(PLACES) gives (half to even, on the float's exact
    value), without building a Decimal unless the value sits on a tie."""
    scaled = value * 1000.0
    if abs(scaled - math.floor(scaled) - 0.5) > 1e-6:
        # Far from a tie, the float product's tiny error cannot change the nearest.
        return round(scaled)
    return int(Decimal(value).quantize(PLACES).scaleb(3))


def _assessment_contributions(assessments, as_of, rules, domains) -> list[Contribution]:
    dated = [a for a in assessments if a.event_date <= as_of]
    if not dated:
        return []
    # The latest assessment stands; on the same day, the highest entry id decides,
    # so the answer never depends on the order rows were fetched in.
    latest = max(dated, key=lambda a: (a.event_date, a.entry_id))
    decay = decay_factor((as_of - latest.event_date).days, rules.half_life_days)
    contributions = []
    for key, grade in sorted(latest.scores.items()):
        domain = rules.assessment_keys.get(key, key)
        if domain not in domains or not isinstance(grade, int) or grade <= 1:
            continue
        value = float(rules.assessment_weight) * (grade - 1) * decay
        contributions.append(
            Contribution(
                entry_id=latest.entry_id,
                event_date=latest.event_date,
                agency="",
                kind="assessment",
                category=f"graded {grade} of 5",
                domain=domain,
                value=Decimal(value).quantize(PLACES),
                weight=float(rules.assessment_weight),
                kind_factor=1.0,
                severity=grade,
                severity_factor=grade - 1,
                decay=decay,
                corroboration=1.0,
            )
        )
    return contributions


def level_held_since(
    prepared: list[PreparedRow],
    assessments: list[AssessmentRow],
    *,
    level: int,
    as_of: datetime.date,
    rules: ScoringRules,
    domains: list[str],
) -> datetime.date | None:
    """The first day of the unbroken run, ending on `as_of`, in which the score was
    at `level` or above; None if it is below on `as_of`.

    The score changes upwards only on days the evidence does (an entry, a
    corroboration, an assessment) and between them only decays, so the run can
    only begin on such a day, and it held across the gap before that day if the
    score the day before was still at the level. An episode is then dated from
    the history, not from the day the engine first looked (an import, a demo load)."""
    change_days = set()
    for item in prepared:
        change_days.add(item.ordinal)
        if item.corroborated_from is not None:
            change_days.add(item.corroborated_from)
    change_days.update(a.event_date.toordinal() for a in assessments)
    today = as_of.toordinal()
    days = sorted(day for day in change_days if day <= today)
    if not days:
        return None
    asked = sorted({today, *days, *(day - 1 for day in days)})
    totals = dict(
        zip(
            asked,
            totals_on(
                prepared,
                assessments,
                [datetime.date.fromordinal(day) for day in asked],
                rules=rules,
                domains=domains,
            ),
            strict=True,
        )
    )
    if rules.level_for(totals[today]) < level:
        return None
    start = None
    for day in reversed(days):
        if rules.level_for(totals[day]) < level:
            break
        start = day
        if rules.level_for(totals[day - 1]) < level:
            break
    return datetime.date.fromordinal(start) if start is not None else as_of


def level_falls_on(
    prepared: list[PreparedRow],
    assessments: list[AssessmentRow],
    *,
    as_of: datetime.date,
    total: Decimal,
    rules: ScoringRules,
    domains: list[str],
) -> datetime.date | None:
    """The first day after `as_of` on which, with no new evidence, the score is
    below its level on `as_of` (whose total is `total`); None at level 1.

    Between entries a score only fades: every contribution, the latest
    assessment's included, decays with the same half-life h, and corroboration
    and rounding never make a total rise. So the total t days on is close to
    total × 2^(−t/h), and it falls below the level's threshold T about
    h × log2(total / T) days on. Rounding each contribution to thousandths can move
    that by a day or more, so the estimate only starts the search: the exact day
    is the first on which `totals_on` (the score's own arithmetic) gives a lower
    level, found by bisection, which a total that never rises allows."""
    level = rules.level_for(total)
    if level <= 1:
        return None
    threshold = rules.level_starts_at(level)
    start = as_of.toordinal()

    def below(day: int) -> bool:
        (on,) = totals_on(
            prepared, assessments, [datetime.date.fromordinal(day)], rules=rules, domains=domains
        )
        return rules.level_for(on) < level

    estimate = start + max(
        1, math.ceil(rules.half_life_days * math.log2(float(total) / float(threshold)))
    )
    # Bracket the day: not below on `low`, below on `high`.
    if below(estimate):
        low, high = start, estimate
        if estimate - 1 > start and not below(estimate - 1):
            return datetime.date.fromordinal(estimate)
    else:
        low, step = estimate, 1
        while not below(estimate + step):
            low, step = estimate + step, step * 2
        high = estimate + step
    while high - low > 1:
        middle = (low + high) // 2
        if below(middle):
            high = middle
        else:
            low = middle
    return datetime.date.fromordinal(high)
