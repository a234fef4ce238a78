"""Loading what the rules read, for one child or a batch of the sweep.

The same dozen queries serve one child or five hundred: entries come back as
plain tuples (`EntryFacts`), never as model objects, and the neglect score is
worked out from the rows neglect_tool's one loader (`evidence_for_children`)
gives every page, so an alert and the page it links to show the same score.
`contexts_load` must run inside the evaluation's transaction, with the children's
rows and watches already locked (escalation.services).
"""

import datetime
from collections import defaultdict

from django.db.models import BooleanField, CharField, Count, Exists, OuterRef, Q, Subquery
from django.db.models.expressions import ExpressionWrapper
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from agencies.models import Agency
from chronology.models import (
    Allocation,
    Amendment,
    Child,
    DecisionAttendance,
    EntryChild,
    StatusPeriod,
)
from neglect_tool.scoring import (
    evidence_key,
    level_falls_on,
    level_held_since,
    prepare_evidence,
    score_prepared,
)
from neglect_tool.selectors import evidence_for_children

from .models import UNRESOLVED, Alert, AlertEvidence, AlertStatus, ChildWatch, Holiday
from .rules import Context, EntryFacts, day_starts

ENTRY_FIELDS = (
    "child_id",
    "entry_id",
    "public_id_text",
    "entry__kind",
    "entry__event_date",
    "entry__event_time",
    "entry__recorded_at",
    "entry__agency_id",
    "entry__severity",
    "entry__decision_type",
    "entry__import_batch_id",
    "entry__scores",
    "agencies_present",
    "entry__acknowledgement__acknowledged_on",
    "entry__acknowledgement__recorded_at",
    "has_child_words",
    "mobile_from_text",
    # One row per category (none: one row with None), in the order given.
    "entry__category_rows__id",
    "entry__category_rows__category",
)


def _entry_order(entry: EntryFacts):
    # As PostgreSQL orders event_date, event_time, recorded_at: a missing time last.
    return (
        entry.event_date,
        entry.event_time is None,
        entry.event_time or datetime.time.min,
        entry.recorded_at,
        entry.id,
    )


def _entries_by_child(child_ids: list[int], today: datetime.date) -> dict[int, list[EntryFacts]]:
    """Each child's standing entries dated up to today, oldest first, in one query
    from the link table's child index. An entry about two children of the batch is
    one object in both lists."""
    superseded = Amendment.objects.filter(entry=OuterRef("entry"))
    present = (
        DecisionAttendance.objects.filter(entry=OuterRef("entry"))
        .order_by()
        .values("entry")
        .annotate(n=Count("id"))
        .values("n")
    )
    links = (
        EntryChild.objects.filter(child_id__in=child_ids, entry__event_date__lte=today)
        .exclude(Exists(superseded))
        .annotate(
            # Text, not a UUID object per row: the rules only compare it.
            public_id_text=Cast("entry__public_id", output_field=CharField()),
            agencies_present=Coalesce(Subquery(present), 0),
            # The child's own words, on any kind of entry, are the child's voice.
            # A baby's first independent moves, as a visit recorded them (the injury rule).
            mobile_from_text=KeyTextTransform("mobile_from", "entry__extra"),
            has_child_words=ExpressionWrapper(
                Q(entry__child_words__isnull=False) & ~Q(entry__child_words=""),
                output_field=BooleanField(),
            ),
        )
    )
    agencies = {
        pk: (code, kind) for pk, code, kind in Agency.objects.values_list("id", "code", "kind")
    }
    facts: dict[int, EntryFacts] = {}
    categories: dict[int, dict[int, str]] = defaultdict(dict)  # entry: {row id: category}
    by_child: dict[int, list[EntryFacts]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for (
        child_id,
        entry_id,
        public_id,
        kind,
        event_date,
        event_time,
        recorded_at,
        agency_id,
        severity,
        decision_type,
        import_batch_id,
        scores,
        agencies_present,
        acknowledged_on,
        acknowledgement_recorded_at,
        has_child_words,
        mobile_from_text,
        category_row_id,
        category,
    ) in links.values_list(*ENTRY_FIELDS):
        entry = facts.get(entry_id)
        if entry is None:
            code, agency_kind = agencies[agency_id]
            entry = facts[entry_id] = EntryFacts(
                id=entry_id,
                public_id=public_id,
                kind=kind,
                event_date=event_date,
                event_time=event_time,
                recorded_at=recorded_at,
                agency_id=agency_id,
                agency_code=code,
                agency_kind=agency_kind,
                severity=severity,
                decision_type=decision_type,
                import_batch_id=import_batch_id,
                scores=scores,
                agencies_present=agencies_present,
                acknowledged_on=acknowledged_on,
                acknowledgement_recorded_at=acknowledgement_recorded_at,
                has_child_words=bool(has_child_words),
                mobile_from_text=mobile_from_text,
            )
        if category_row_id is not None:
            categories[entry_id][category_row_id] = category
        if (child_id, entry_id) not in seen:
            seen.add((child_id, entry_id))
            by_child[child_id].append(entry)
    for entry_id, rows in categories.items():
        facts[entry_id].categories = [rows[row_id] for row_id in sorted(rows)]
    for entries in by_child.values():
        entries.sort(key=_entry_order)
    return by_child


def contexts_load(
    children: list[Child],
    watches: dict[int, ChildWatch],
    *,
    now: datetime.datetime,
    config,
    domains: list[str],
    rules: list,
) -> dict[int, Context]:
    """{child id: Context} for the children, in a constant number of queries."""
    today = timezone.localtime(now).date()
    ids = [child.pk for child in children]
    entries = _entries_by_child(ids, today)
    # The score's rows come from neglect_tool's one loader. The children are locked,
    # so no entry about them commits between the two reads.
    evidence = evidence_for_children(ids, until=today, config=config)

    periods = defaultdict(list)
    for period in StatusPeriod.objects.filter(child_id__in=ids).order_by("started_on", "id"):
        periods[period.child_id].append(period)
    allocations = defaultdict(list)
    for allocation in Allocation.objects.filter(child_id__in=ids, started_on__lte=today).order_by(
        "started_on", "id"
    ):
        allocations[allocation.child_id].append(allocation)
    resolved: defaultdict[int, dict] = defaultdict(dict)
    for child_id, code, key, day in Alert.objects.filter(
        child_id__in=ids, status=AlertStatus.RESOLVED, resolved_on__lte=today
    ).values_list("child_id", "rule_code", "episode_key", "resolved_on"):
        if day > resolved[child_id].get((code, key), datetime.date.min):
            resolved[child_id][(code, key)] = day
    # Locked: a person acknowledging or resolving one of them waits for us.
    unresolved = defaultdict(list)
    for alert in (
        Alert.objects.filter(child_id__in=ids, status__in=UNRESOLVED)
        .order_by("pk")
        .select_for_update()
    ):
        unresolved[alert.child_id].append(alert)
    holidays = set(Holiday.objects.values_list("day", flat=True))
    linked = defaultdict(set)
    if unresolved:
        # By the alerts' own ids: joining the alert table instead, PostgreSQL scans
        # all of the evidence (30 ms a batch at county scale).
        alert_ids = [alert.pk for alerts in unresolved.values() for alert in alerts]
        for alert_id, entry_id in AlertEvidence.objects.filter(alert_id__in=alert_ids).values_list(
            "alert_id", "entry_id"
        ):
            linked[alert_id].add(entry_id)

    contexts = {}
    for child in children:
        child_entries = entries.get(child.pk, [])
        found = evidence[child.pk]
        assessments = found.assessments
        prepared = prepare_evidence(found.rows, rules=config, domains=domains)
        # Unexplained: only a level rule that fires lists the contributions
        # (Context.explained_score), and listing them for every child cost more
        # than the sum.
        score = score_prepared(
            prepared, assessments, as_of=today, rules=config, domains=domains, explain=False
        )
        watch = watches[child.pk]
        key = evidence_key([entry.id for entry in child_entries], rules=config, domains=domains)
        stored = watch.month_totals if watch.month_totals.get("key") == key else {}
        known_totals = dict(stored.get("totals", {}))
        known_totals[today.isoformat()] = int(score.total.scaleb(3))
        rose_on = {}
        for level in (2, 3, 4):
            if score.level < level:
                continue
            known = watch.level_rose_on.get(str(level))
            if known is None:
                # Newly at this level, or first seen (after an import or a demo
                # load): the episode began when the history says, not today.
                since = level_held_since(
                    prepared, assessments, level=level, as_of=today, rules=config, domains=domains
                )
                known = (since or today).isoformat()
            rose_on[str(level)] = known
        child_unresolved = unresolved.get(child.pk, [])
        context = contexts[child.pk] = Context(
            child=child,
            now=now,
            today=today,
            entries=child_entries,
            score=score,
            level_rose_on=rose_on,
            status_periods=periods.get(child.pk, []),
            allocations=allocations.get(child.pk, []),
            resolved_on=resolved.get(child.pk, {}),
            unresolved=child_unresolved,
            evidence_linked={a.pk: linked.get(a.pk, set()) for a in child_unresolved},
            prepared=prepared,
            assessments=assessments,
            scoring_rules=config,
            domains=domains,
            holidays=holidays,
            rules=rules,
            totals_key=key,
            known_totals=known_totals,
            mobile_from=_mobile_from(child_entries),
        )
        _moments_of_time(context, periods.get(child.pk, []))
    return contexts


def _moments_of_time(ctx: Context, periods: list) -> None:
    """When time alone, with no new entry, changes what the rules read beyond
    their own deadlines (which the rules ask for themselves): the day the score
    fades below its level, and a status beginning or ending on a day to come."""
    falls_on = level_falls_on(
        ctx.prepared,
        ctx.assessments,
        as_of=ctx.today,
        total=ctx.score.total,
        rules=ctx.scoring_rules,
        domains=ctx.domains,
    )
    if falls_on is not None:
        ctx.check_again_at(day_starts(falls_on))
    for period in periods:
        for day in (period.started_on, period.ended_on):
            if day is not None and day > ctx.today:
                ctx.check_again_at(day_starts(day))


def _mobile_from(entries: list[EntryFacts]) -> datetime.date | None:
    """The day the child was recorded as independently mobile (a visit or health
    entry's `mobile_from`, kept in the entry's extra): the earliest recorded."""
    days = []
    for entry in entries:
        if entry.mobile_from_text:
            try:
                days.append(datetime.date.fromisoformat(entry.mobile_from_text))
            except ValueError:
                continue  # not a date: the age limit decides
    return min(days, default=None)
