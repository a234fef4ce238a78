"""The rule types: each reads one child's chronology up to a moment and says
which patterns of concern stand without a multi-agency decision.

Rules are pure: they read a Context and run no queries. `escalation.context`
loads contexts (for one child or for a batch of the sweep, in the same few
queries either way), and `escalation.services` turns findings into alerts.

"Covered": a pattern is covered by a multi-agency decision (any decision entry
with two or more agencies present) dated on or after the day the pattern
began. Evidence dated on or before the latest such decision, or before an alert
of the same episode was last resolved, has been dealt with, so rules look only
at what came after (the episode's floor).
"""

import datetime
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings

from chronology.vocabulary import HARM_CATEGORIES, DecisionType, EntryKind
from neglect_tool.scoring import LEVEL_NAMES, Score, ScoringRules, score_prepared, totals_on
from neglect_tool.selectors import month_ends

from .models import Rule, RuleType
from .working_time import next_school_day_start

if TYPE_CHECKING:
    from chronology.models import Child

# Entries that record what professionals did rather than what the child lived.
PROFESSIONAL_KINDS = {
    EntryKind.DECISION,
    EntryKind.STATUS,
    EntryKind.ALLOCATION,
    EntryKind.ASSESSMENT,
}


@dataclass(slots=True)
class EntryFacts:
    """What the rules read of one standing chronology entry: plain values, so that
    a sweep can load a county's entries without building a model object for each."""

    id: int
    public_id: str
    kind: str
    event_date: datetime.date
    event_time: datetime.time | None
    recorded_at: datetime.datetime
    agency_id: int
    agency_code: str
    agency_kind: str
    severity: int | None
    decision_type: str
    import_batch_id: int | None
    scores: dict | None
    categories: list[str] = field(default_factory=list)  # in the order given
    agencies_present: int = 0  # decision entries: agencies recorded as present
    acknowledged_on: datetime.date | None = None  # notifications: when acknowledged
    acknowledgement_recorded_at: datetime.datetime | None = None
    has_child_words: bool = False  # the child's own words recorded on the entry
    mobile_from_text: str | None = None  # extra's "mobile_from": the baby mobile from

    @property
    def is_child_voice(self) -> bool:
        """What the child said: a child's-voice entry, or words recorded on any entry."""
        return self.kind == EntryKind.CHILD_VOICE or self.has_child_words

    @property
    def decision_type_label(self) -> str:
        # As Entry.get_decision_type_display: the stored value if it is not a choice.
        if self.decision_type in DecisionType.values:
            return DecisionType(self.decision_type).label
        return self.decision_type or "decision"


@dataclass
class Finding:
    rule: Rule
    episode_key: str
    started_on: datetime.date
    evidence: list[EntryFacts]
    categories: list[str]
    reason: str
    urgency: int = 1


@dataclass
class Context:
    """Everything the rules may read about one child at one moment."""

    child: "Child"
    now: datetime.datetime
    today: datetime.date
    entries: list[EntryFacts]  # standing entries dated up to today, oldest first
    score: Score
    level_rose_on: dict[str, str]
    status_periods: list
    allocations: list
    resolved_on: dict[tuple[str, str], datetime.date]  # (code, key) -> last resolution
    scoring_rules: ScoringRules  # the active configuration version
    # The child's unresolved alerts, locked for this evaluation, and the entries
    # already linked to each as evidence: {alert id: {entry id}}.
    unresolved: list = field(default_factory=list)
    evidence_linked: dict[int, set[int]] = field(default_factory=dict)
    # What scoring on other days needs (the not-sustained rule's month ends).
    prepared: list = field(default_factory=list)
    assessments: list = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    holidays: set[datetime.date] | None = None  # every Holiday; None: ask the database
    rules: list = field(default_factory=list)  # the enabled rules being run
    next_checks: list[datetime.datetime] = field(default_factory=list)
    # The key of the evidence (scoring.evidence_key), and the totals on days already
    # known for it, in thousandths by ISO day: those the last evaluation stored, if
    # the key is unchanged, and today's. totals_on adds the days it works out.
    totals_key: str = ""
    known_totals: dict[str, int] = field(default_factory=dict)
    mobile_from: datetime.date | None = None  # recorded as independently mobile from
    _days_asked: set[str] = field(default_factory=set, repr=False)
    _decisions: list[EntryFacts] | None = field(default=None, repr=False)
    _explained: Score | None = field(default=None, repr=False)

    def moment(self, entry: EntryFacts) -> datetime.datetime:
        zone = ZoneInfo(settings.TIME_ZONE)
        return datetime.datetime.combine(
            entry.event_date, entry.event_time or datetime.time(0, 0), tzinfo=zone
        )

    def entry(self, entry_id: int) -> EntryFacts | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def multi_agency_decisions(self, types: set[str] | None = None) -> list[EntryFacts]:
        # Worked out once: rules ask for the floor of every entry they look at.
        if self._decisions is None:
            self._decisions = [
                e for e in self.entries if e.kind == EntryKind.DECISION and e.agencies_present >= 2
            ]
        if types is None:
            return self._decisions
        return [e for e in self._decisions if e.decision_type in types]

    def floor(self, code: str, key: str) -> datetime.date | None:
        """The day up to which this episode's evidence has been dealt with."""
        decisions = self.multi_agency_decisions()
        day = decisions[-1].event_date if decisions else None  # entries are in date order
        resolved = self.resolved_on.get((code, key))
        if resolved is not None and (day is None or resolved > day):
            return resolved
        return day

    def explained_score(self) -> Score:
        """Today's score with every contribution listed (self.score has none)."""
        if self._explained is None:
            self._explained = score_prepared(
                self.prepared,
                self.assessments,
                as_of=self.today,
                rules=self.scoring_rules,
                domains=self.domains,
            )
        return self._explained

    def totals_on(self, days: Sequence[datetime.date], *, remember: bool = True) -> list[Decimal]:
        """The child's neglect score on each day: known, or worked out from the
        evidence already loaded (and then known). Days asked with `remember` are
        kept on the watch for the next evaluation (totals_to_store); days to come,
        asked only to know when to look again, are not."""
        if remember:
            self._days_asked.update(day.isoformat() for day in days)
        missing = [day for day in days if day.isoformat() not in self.known_totals]
        if missing:
            worked_out = totals_on(
                self.prepared,
                self.assessments,
                missing,
                rules=self.scoring_rules,
                domains=self.domains,
            )
            for day, total in zip(missing, worked_out, strict=True):
                self.known_totals[day.isoformat()] = int(total.scaleb(3))
        return [Decimal(self.known_totals[day.isoformat()]).scaleb(-3) for day in days]

    def totals_to_store(self) -> dict:
        """What the watch keeps for the next evaluation and the child's page: today's
        total and those of the days the rules asked for (the month ends), so it
        does not grow by a day at every evaluation."""
        keep = self._days_asked | {self.today.isoformat()}
        return {
            "key": self.totals_key,
            "rows": len(self.prepared),
            "totals": {day: n for day, n in sorted(self.known_totals.items()) if day in keep},
        }

    def since_text(self, floor: datetime.date | None) -> str:
        return f"since {floor:%Y-%m-%d}" if floor else "on record"

    def check_again_at(self, moment: datetime.datetime) -> None:
        """Ask to be evaluated again at `moment`, when time alone may change what
        the rules find (a deadline, a review falling due, a level fading). The
        earliest asked becomes the watch's next_check_at: between entries, a child
        is evaluated only then."""
        if moment > self.now:
            self.next_checks.append(moment)


def day_starts(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day`, local time: when a date-based change takes effect."""
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _after(entries, floor):
    return [e for e in entries if floor is None or e.event_date > floor]


def _harm_key(categories: list[str]) -> str:
    return next(
        (c for c in HARM_CATEGORIES if c in categories), categories[0] if categories else ""
    )


def _matching(entry: EntryFacts, categories) -> list[str]:
    return [c for c in entry.categories if c in categories]


# --- the rule types ------------------------------------------------------------------


# Statutory review cadence (Working Together to Safeguard Children 2023, and the
# Care Planning, Placement and Case Review (England) Regulations 2010, reg. 33):
# a child protection plan's first review conference within 3 months of the
# initial conference, then at most 6 months apart; a looked-after child's first
# review within 20 working days of becoming looked after, the second within 3
# months of the first, then at most 6 months apart. docs/escalation.md.
PLAN_REVIEWS = {
    "child_protection_plan": ({"child_protection_conference"}, [(3, "months")], (6, "months")),
    "looked_after": (
        {"looked_after_review"},
        [(20, "working_days"), (3, "months")],
        (6, "months"),
    ),
}
REVIEW_OVERDUE = "review-overdue"  # the episode key of a level alert for an overdue review
LOOKED_AFTER_STATUSES = {"looked_after", "interim_care_order", "care_order", "placed_for_adoption"}


def _add_months(day: datetime.date, months: int) -> datetime.date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _add_interval(day: datetime.date, interval, holidays) -> datetime.date:
    amount, unit = interval
    if unit == "months":
        return _add_months(day, amount)
    from .working_time import is_working_day

    counted = 0
    while counted < amount:
        day += datetime.timedelta(days=1)
        if is_working_day(day, holidays or set()):
            counted += 1
    return day


def plan_review_due(ctx: Context) -> tuple[str, datetime.date, datetime.date] | None:
    """For a child on a child protection plan or looked after today: (the plan,
    its start, the day its next statutory review is due by). None otherwise.
    Where a child is on both, the review due soonest decides."""
    due = []
    for period in ctx.status_periods:
        if period.started_on > ctx.today or (period.ended_on and period.ended_on <= ctx.today):
            continue
        track = "looked_after" if period.status in LOOKED_AFTER_STATUSES else period.status
        if track not in PLAN_REVIEWS:
            continue
        types, first_intervals, then = PLAN_REVIEWS[track]
        # The initial conference (or the day care began) starts the clock; reviews
        # are the decisions of the plan's kind held after it.
        reviews = [
            d.event_date
            for d in ctx.multi_agency_decisions(types)
            if d.event_date > period.started_on
        ]
        last = reviews[-1] if reviews else period.started_on
        interval = first_intervals[len(reviews)] if len(reviews) < len(first_intervals) else then
        due.append((track, period.started_on, _add_interval(last, interval, ctx.holidays)))
    return min(due, key=lambda item: item[2]) if due else None


def level_reached(rule: Rule, ctx: Context) -> list[Finding]:
    level = rule.params["level"]
    rose_on = ctx.level_rose_on.get(str(level))
    if ctx.score.level < level or rose_on is None:
        return []
    higher = [
        r for r in ctx.rules if r.type == rule.type and level < r.params["level"] <= ctx.score.level
    ]
    if higher and (
        rule.params.get("plan_cadence")
        or ctx.level_rose_on.get(str(higher[0].params["level"])) == rose_on
    ):
        # The child is at a higher rule's level too: one alert, the higher.
        return []
    started = datetime.date.fromisoformat(rose_on)
    plan = plan_review_due(ctx) if rule.params.get("plan_cadence") else None
    # (episode key, started, reason) of what stands uncovered.
    episodes = []
    floor = ctx.floor(rule.code, "")
    if floor is None or floor < started:
        # Reached with no multi-agency decision since: for a child on a plan, the
        # level rose after the plan's last decision.
        episodes.append(
            (
                "",
                started,
                f"at level {level} or above since {started:%Y-%m-%d}; "
                "no multi-agency decision since then",
            )
        )
    if plan is not None:
        track, plan_started, due = plan
        if ctx.today > due:
            overdue_from = due + datetime.timedelta(days=1)
            floor = ctx.floor(rule.code, REVIEW_OVERDUE)
            if floor is None or floor < overdue_from:
                plan_name = (
                    "a child protection plan"
                    if track == "child_protection_plan"
                    else "looked after"
                )
                episodes.append(
                    (
                        REVIEW_OVERDUE,
                        overdue_from,
                        f"on {plan_name} since {plan_started:%Y-%m-%d}; the statutory review was "
                        f"due by {due:%Y-%m-%d} and none is recorded",
                    )
                )
        else:
            # Covered while the reviews run to cadence: look again the day after
            # the next is due.
            ctx.check_again_at(day_starts(due + datetime.timedelta(days=1)))
    if not episodes:
        return []
    contributions = ctx.explained_score().contributions
    contributing = {c.entry_id for c in contributions}
    evidence = [e for e in ctx.entries if str(e.public_id) in contributing]
    categories = sorted({c.category for c in contributions if c.kind != "assessment"})
    head = (
        f"Neglect level {ctx.score.level} ({LEVEL_NAMES[ctx.score.level]}), "
        f"score {ctx.score.total}, "
    )
    return [
        Finding(
            rule=rule,
            episode_key=key,
            started_on=day,
            evidence=evidence[-20:],
            categories=categories,
            reason=head + text,
        )
        for key, day, text in episodes
    ]


def injury_non_mobile(rule: Rule, ctx: Context) -> list[Finding]:
    """A bruise or injury on a baby not yet independently mobile: a referral at once
    (NICE CG89; local "bruising in non-mobile babies" protocols). Unless a referral
    or a strategy discussion is recorded the same day, an alert at once, one for
    each injury. Mobile: from a recorded `mobile_from` day, else from the age limit."""
    p = rule.params
    born = ctx.child.date_of_birth
    if born is None:
        return []
    limit_days = round(p.get("age_months", 6) * 365.25 / 12)
    # A strategy discussion counts as any multi-agency decision does: two or more
    # agencies present.
    answered_on = {e.event_date for e in ctx.entries if e.kind == EntryKind.REFERRAL} | {
        d.event_date for d in ctx.multi_agency_decisions({DecisionType.STRATEGY_DISCUSSION})
    }
    findings = []
    for entry in ctx.entries:
        if entry.kind in PROFESSIONAL_KINDS or not _matching(entry, p["categories"]):
            continue
        mobile = (
            entry.event_date >= ctx.mobile_from
            if ctx.mobile_from is not None
            else (entry.event_date - born).days >= limit_days
        )
        if mobile or entry.event_date < born or entry.event_date in answered_on:
            continue
        key = str(entry.public_id)
        floor = ctx.floor(rule.code, key)
        if floor is not None and entry.event_date <= floor:
            continue
        age_weeks = (entry.event_date - born).days // 7
        findings.append(
            Finding(
                rule=rule,
                episode_key=key,
                started_on=entry.event_date,
                evidence=[entry],
                categories=_matching(entry, p["categories"]),
                urgency=2,
                reason=(
                    f"Bruising or injury recorded on {entry.event_date:%Y-%m-%d} on a baby of "
                    f"{age_weeks} weeks, not yet independently mobile, with no referral or "
                    "strategy discussion that day"
                ),
            )
        )
    return findings


def serious_incident(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    strategy = ctx.multi_agency_decisions({DecisionType.STRATEGY_DISCUSSION})
    findings: dict[str, Finding] = {}
    for entry in ctx.entries:
        harms = _matching(entry, p["categories"])
        if not harms or (entry.severity or 0) < p["min_severity"]:
            continue
        key = _harm_key(harms)
        floor = ctx.floor(rule.code, key)
        if floor is not None and entry.event_date <= floor:
            continue
        deadline = ctx.moment(entry) + datetime.timedelta(hours=p["hours"])
        if any(d.event_date >= entry.event_date for d in strategy):
            continue
        if ctx.now < deadline:
            ctx.check_again_at(deadline)
            continue
        finding = findings.setdefault(
            key,
            Finding(rule, key, entry.event_date, [], [], ""),
        )
        finding.evidence.append(entry)
        finding.categories = sorted(set(finding.categories) | set(harms))
    for finding in findings.values():
        finding.urgency = len(finding.evidence)
        harm = finding.episode_key.replace("_", " ")
        finding.reason = (
            f"{len(finding.evidence)} serious incident(s) of {harm} "
            f"(severity {p['min_severity']}+) with no strategy discussion within {p['hours']} hours"
        )
    return list(findings.values())


def frequency(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    floor = ctx.floor(rule.code, "")
    window = datetime.timedelta(days=p["days"])
    relevant = [
        e
        for e in _after(ctx.entries, floor)
        if e.kind not in PROFESSIONAL_KINDS
        and _matching(e, p["categories"])
        # A concern recorded without a severity counts (the category's default
        # decides in the score); one recorded as below the floor does not.
        and (e.severity is None or e.severity >= p.get("min_severity", 0))
    ]
    best = None
    start = 0
    # Slide a window over the entries in date order; the latest window that
    # qualifies is reported.
    for end_index, last in enumerate(relevant):
        while last.event_date - relevant[start].event_date > window:
            start += 1
        inside = relevant[start : end_index + 1]
        agencies = {e.agency_id for e in inside}
        if len(inside) >= p["count"] and len(agencies) >= p.get("min_agencies", 1):
            best = inside
    if not best:
        return []
    agencies = {e.agency_id for e in best}
    span = (best[-1].event_date - best[0].event_date).days
    categories = sorted({c for e in best for c in _matching(e, p["categories"])})
    return [
        Finding(
            rule=rule,
            episode_key="",
            started_on=best[0].event_date,
            evidence=best,
            categories=categories,
            urgency=len(best),
            reason=(
                f"{len(best)} entries about {', '.join(categories)} from {len(agencies)} "
                f"agencies in {span} days; no multi-agency decision {ctx.since_text(floor)}"
            ),
        )
    ]


def voice_unanswered(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    answers = [
        e for e in ctx.entries if e.kind == EntryKind.REFERRAL
    ] + ctx.multi_agency_decisions()
    findings: dict[str, Finding] = {}
    for entry in ctx.entries:
        harms = _matching(entry, p["categories"]) if entry.is_child_voice else []
        if not harms:
            continue
        key = _harm_key(harms)
        floor = ctx.floor(rule.code, key)
        if floor is not None and entry.event_date <= floor:
            continue
        deadline = ctx.moment(entry) + datetime.timedelta(hours=p["hours"])
        answered = any(
            entry.event_date <= a.event_date and ctx.moment(a) <= deadline for a in answers
        )
        if answered:
            continue
        if ctx.now < deadline:
            ctx.check_again_at(deadline)
            continue
        finding = findings.setdefault(key, Finding(rule, key, entry.event_date, [], [], ""))
        finding.evidence.append(entry)
        finding.categories = sorted(set(finding.categories) | set(harms))
    for finding in findings.values():
        finding.urgency = len(finding.evidence)
        finding.reason = (
            f"The child spoke of {', '.join(c.replace('_', ' ') for c in finding.categories)} "
            f"{len(finding.evidence)} time(s) since {finding.started_on:%Y-%m-%d} with no referral "
            f"or multi-agency decision within {p['hours']} hours"
        )
    return list(findings.values())


def referral_no_decision(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    decided_by = ctx.multi_agency_decisions() + [
        e for e in ctx.entries if e.kind == EntryKind.ASSESSMENT
    ]
    by_agency: dict[str, Finding] = {}
    for entry in ctx.entries:
        if entry.kind != EntryKind.REFERRAL or not _matching(entry, p["categories"]):
            continue
        key = entry.agency_code
        floor = ctx.floor(rule.code, key)
        if floor is not None and entry.event_date <= floor:
            continue
        deadline_day = entry.event_date + datetime.timedelta(days=p["days"])
        if any(entry.event_date <= d.event_date <= deadline_day for d in decided_by):
            continue
        if ctx.today <= deadline_day:
            # Overdue from the start of the next day, whatever the referral's time.
            ctx.check_again_at(day_starts(deadline_day + datetime.timedelta(days=1)))
            continue
        finding = by_agency.setdefault(key, Finding(rule, key, entry.event_date, [], [], ""))
        finding.evidence.append(entry)
        finding.categories = sorted(
            set(finding.categories) | set(_matching(entry, p["categories"]))
        )
    for finding in by_agency.values():
        # Repeated referrals from one agency are one episode that grows more urgent.
        finding.urgency = len(finding.evidence)
        finding.reason = (
            f"{len(finding.evidence)} referral(s) from {finding.episode_key} since "
            f"{finding.started_on:%Y-%m-%d} with no decision within {p['days']} days"
        )
    return list(by_agency.values())


# --- improvement not sustained ----------------------------------------------------


@dataclass(frozen=True)
class Relapse:
    """An improvement that did not last: the score fell from a peak, then came back."""

    peak_on: datetime.date
    peak: Decimal
    fell_on: datetime.date
    fell_to: Decimal
    returned_on: datetime.date


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
    """Each time the month-end totals fell by at least `min_fall` (a fraction)
    from a peak and then came back to the peak within `within_months` of the
    fall: improvement taken at face value that did not hold (disguised
    compliance, over-optimism). A fall that lasts longer than `within_months`
    counts as a real improvement, and the watch starts again from there. Pure,
    so the engine runs it over totals it has already worked out."""
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


def not_sustained(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    found = _not_sustained_on(rule, ctx, ctx.today)
    # Time alone changes this answer only when a month end joins or leaves the
    # look-back, on the first of a month: within a month only today's total moves,
    # and a total that only fades cannot make the score come back. Look again on
    # the first month start whose answer differs (once the look-back has moved
    # past today's evidence, none can).
    if ctx.prepared or ctx.assessments:
        starts = _month_starts_after(ctx.today, p["lookback_months"] + 1)
        ctx.totals_on(
            sorted(
                {
                    day
                    for start in starts
                    for day in lookback_month_ends(start, p["lookback_months"])
                }
            ),
            remember=False,
        )
        today = _finding_shape(found)
        for start in starts:
            if _finding_shape(_not_sustained_on(rule, ctx, start)) != today:
                ctx.check_again_at(day_starts(start))
                break
    return found


def _finding_shape(findings: list[Finding]) -> list[tuple]:
    return [(f.episode_key, f.started_on, f.urgency, f.reason) for f in findings]


def _month_starts_after(day: datetime.date, count: int) -> list[datetime.date]:
    first = day.replace(day=1)
    return [_add_months(first, n) for n in range(1, count + 1)]


def _not_sustained_on(rule: Rule, ctx: Context, as_of: datetime.date) -> list[Finding]:
    """The rule's answer on `as_of` (today, or a day to come with no new evidence)."""
    p = rule.params
    floor = ctx.floor(rule.code, "")
    months = lookback_month_ends(as_of, p["lookback_months"])
    totals = ctx.totals_on(months, remember=as_of <= ctx.today)
    relapses = [
        r
        for r in relapses_in(months, totals, within_months=p["within_months"])
        if floor is None or r.returned_on > floor
    ]
    if "min_level" in p:
        relapses = [r for r in relapses if _relapse_matters(r, p, ctx, months, totals)]
    if len(relapses) < p["times"]:
        return []
    first = relapses[0]
    # The pattern begins at the first relapse's peak, unless a decision came after
    # that peak: then what stands uncovered began when the score came back. (Dated
    # on or before the decision, the alert would be resolved by it at once and
    # raised again at every evaluation.)
    started = first.peak_on if floor is None or first.peak_on > floor else first.returned_on
    return [
        Finding(
            rule=rule,
            episode_key="",
            started_on=started,
            evidence=[e for e in ctx.entries if e.event_date > first.fell_on][-20:],
            categories=[],
            urgency=len(relapses),
            reason=(
                f"The neglect score fell and came back {len(relapses)} times in "
                f"{p['lookback_months']} months, last back on "
                f"{relapses[-1].returned_on:%Y-%m-%d}: improvement has not been sustained"
            ),
        )
    ]


def _relapse_matters(relapse, p: dict, ctx: Context, months, totals) -> bool:
    """Rule set 2's test of a relapse: the score stayed down for a real gap (at
    least `min_gap_months` month ends below the peak), and came back to a level
    that matters: `min_level` or above, or the level the child was at when a plan
    ended or the case closed (if that was above level 1)."""
    fell = months.index(relapse.fell_on)
    back = months.index(relapse.returned_on)
    if back - fell < p.get("min_gap_months", 0):
        return False
    level_back = ctx.scoring_rules.level_for(totals[back])
    if level_back >= p["min_level"]:
        return True
    ended = [
        period.ended_on
        for period in ctx.status_periods
        if period.ended_on
        and period.ended_on <= relapse.fell_on
        and period.status in ("child_protection_plan", "child_in_need", *LOOKED_AFTER_STATUSES)
    ]
    if not ended:
        return False
    (total_then,) = ctx.totals_on([max(ended)])
    level_then = ctx.scoring_rules.level_for(total_then)
    return level_then > 1 and level_back >= level_then


def turnover(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    floor = ctx.floor(rule.code, "")
    since = ctx.today - datetime.timedelta(days=round(p["months"] * 365.25 / 12))
    changes = [
        a
        for a in ctx.allocations
        if since < a.started_on <= ctx.today and (floor is None or a.started_on > floor)
    ]
    if len(changes) < p["changes"]:
        return []
    entries = [e for e in (ctx.entry(a.entry_id) for a in changes if a.entry_id) if e]
    return [
        Finding(
            rule=rule,
            episode_key="",
            started_on=changes[0].started_on,
            evidence=entries,
            categories=[],
            urgency=len(changes),
            reason=(
                f"{len(changes)} changes of worker or team in {p['months']} months: each new "
                "worker risks starting again"
            ),
        )
    ]


def return_home(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    findings = []
    reviews = ctx.multi_agency_decisions()
    for period in ctx.status_periods:
        if period.status != "looked_after" or not period.ended_on or period.ended_on > ctx.today:
            continue
        key = f"{period.ended_on:%Y-%m-%d}"
        floor = ctx.floor(rule.code, key)
        window_end = period.ended_on + datetime.timedelta(days=p["days"])
        concerns = [
            e
            for e in _after(ctx.entries, floor)
            if e.kind not in PROFESSIONAL_KINDS
            and period.ended_on < e.event_date <= window_end
            and any(c != "other" for c in e.categories)
        ]
        if not concerns or any(d.event_date >= period.ended_on for d in reviews):
            continue
        findings.append(
            Finding(
                rule=rule,
                episode_key=key,
                started_on=concerns[0].event_date,
                evidence=concerns,
                categories=sorted({c for e in concerns for c in e.categories}),
                urgency=len(concerns),
                reason=(
                    f"{len(concerns)} concern(s) within {p['days']} days of the return home on "
                    f"{period.ended_on:%Y-%m-%d}, with no review decision"
                ),
            )
        )
    return findings


def domestic_abuse_notice(rule: Rule, ctx: Context) -> list[Finding]:
    p = rule.params
    born = ctx.child.date_of_birth
    findings = []
    for entry in ctx.entries:
        if (
            entry.kind != EntryKind.NOTIFICATION
            or entry.agency_kind != "police"
            or "domestic_abuse" not in entry.categories
            or born is None
        ):
            continue
        age = (entry.event_date - born).days / 365.25
        if not p["min_age"] <= age < p["max_age"] + 1:
            continue
        key = str(entry.public_id)
        floor = ctx.floor(rule.code, key)
        if floor is not None and entry.event_date <= floor:
            continue
        due = next_school_day_start(ctx.moment(entry), ctx.holidays)
        if _acknowledged_by(entry, due):
            continue
        if ctx.now < due:
            ctx.check_again_at(due)
            continue
        findings.append(
            Finding(
                rule=rule,
                episode_key=key,
                started_on=entry.event_date,
                evidence=[entry],
                categories=["domestic_abuse"],
                reason=(
                    f"Police domestic abuse notice of {entry.event_date:%Y-%m-%d} not acknowledged "
                    f"by the school before {due:%H:%M on %A %Y-%m-%d}"
                ),
            )
        )
    return findings


def _acknowledged_by(entry: EntryFacts, due: datetime.datetime) -> bool:
    if entry.acknowledged_on is None:
        return False
    if entry.acknowledged_on < due.date():
        return True
    if entry.acknowledged_on > due.date():
        return False
    # On the due day itself: an imported acknowledgement carries only its date,
    # so it is taken as in time; a live one is judged by when it was recorded.
    recorded_at = entry.acknowledgement_recorded_at  # a live acknowledgement has one
    return entry.import_batch_id is not None or (recorded_at is not None and recorded_at <= due)


RULE_TYPES: dict[str, Callable[[Rule, Context], list[Finding]]] = {
    RuleType.LEVEL_REACHED: level_reached,
    RuleType.SERIOUS_INCIDENT: serious_incident,
    RuleType.FREQUENCY: frequency,
    RuleType.VOICE_UNANSWERED: voice_unanswered,
    RuleType.REFERRAL_NO_DECISION: referral_no_decision,
    RuleType.NOT_SUSTAINED: not_sustained,
    RuleType.TURNOVER: turnover,
    RuleType.RETURN_HOME: return_home,
    RuleType.DOMESTIC_ABUSE_NOTICE: domestic_abuse_notice,
    RuleType.INJURY_NON_MOBILE: injury_non_mobile,
}
