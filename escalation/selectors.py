"""Reads of alerts and escalation figures, always scoped to the user."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf
from django.http import Http404
from django.utils import timezone

from chronology.models import Allocation, Child
from chronology.selectors import children_visible_to
from core.audit import access_refusal_wanted, access_refused
from neglect_tool.models import ScoringConfig
from neglect_tool.scoring import Score, evidence_key_prefix

from .models import (
    UNRESOLVED,
    Alert,
    AlertStatus,
    ChildWatch,
    Heartbeat,
    HeartbeatName,
    Notification,
)

AGE_BANDS = [(0, 2, "0–2 days"), (3, 7, "3–7 days"), (8, None, "over a week")]


def children_by_level_for_user(
    *, user, level: int | None = None, allocated_only: bool = False
) -> QuerySet[Child]:
    """The children `user` may read, highest neglect level first, as at each child's
    last evaluation by the escalation workers (escalation.ChildWatch), then highest
    score, then by name. Sorting on stored figures keeps a page of a large caseload
    cheap (no child is scored to sort it), and is the safe way round: a score only
    falls between evaluations (decay), and any new entry queues a re-evaluation.

    Each child carries `watch_level`, `watch_score`, `watch_evaluated_at`,
    `watch_due_since` (None when never evaluated) and `open_alerts`, its unresolved
    alerts, counted by a subquery so the list needs no GROUP BY."""
    children = children_visible_to(user=user, for_list=True)
    if allocated_only:
        current = Allocation.objects.filter(
            child=OuterRef("pk"), worker_id=user.pk, ended_on__isnull=True
        )
        children = children.filter(Exists(current))
    if level is not None:
        children = children.filter(watch__level=level, watch__evaluated_at__isnull=False)
    open_alerts = (
        Alert.objects.filter(child=OuterRef("pk"), status__in=UNRESOLVED)
        .order_by()
        .values("child")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # The worker who holds the case now, by name. (An imported allocation often names
    # no worker: its team field holds the entry's summary, too long for a list.)
    allocated_to = (
        Allocation.objects.filter(child=OuterRef("pk"), ended_on__isnull=True, worker__isnull=False)
        .order_by("-started_on", "-pk")
        .annotate(
            holder=Coalesce(
                NullIf(Concat("worker__first_name", Value(" "), "worker__last_name"), Value(" ")),
                "worker__username",
            )
        )
        .values("holder")[:1]
    )
    evaluated = Q(watch__evaluated_at__isnull=False)
    return (
        children.select_related("household")
        .annotate(
            watch_level=Case(When(evaluated, then=F("watch__level")), default=None),
            watch_score=Case(When(evaluated, then=F("watch__score")), default=None),
            watch_evaluated_at=F("watch__evaluated_at"),
            watch_due_since=F("watch__due_since"),
            allocated_to=Subquery(allocated_to),
            open_alerts=Coalesce(Subquery(open_alerts, output_field=IntegerField()), 0),
        )
        .order_by(
            F("watch_level").desc(nulls_last=True),
            F("watch_score").desc(nulls_last=True),
            "family_name",
            "given_names",
            "pk",
        )
    )


def children_count_by_level_for_user(*, user) -> dict[int | None, int]:
    """{level as at the last evaluation: number of children}, None for children not
    yet evaluated: one aggregate query."""
    counts = (
        children_visible_to(user=user, for_list=True)
        .annotate(
            evaluated_level=Case(
                When(watch__evaluated_at__isnull=False, then=F("watch__level")), default=None
            )
        )
        .order_by()
        .values("evaluated_level")
        .annotate(n=Count("pk"))
    )
    return {row["evaluated_level"]: row["n"] for row in counts}


def alerts_visible_to(*, user, for_list: bool = False) -> QuerySet[Alert]:
    """Alerts about children the user may read: one query with the visibility EXISTS,
    or, `for_list`, with the list form of the same rule (see children_visible_to), which
    starts from the user's children rather than testing every alert in the county."""
    return Alert.objects.filter(child__in=children_visible_to(user=user, for_list=for_list))


def alerts_open_for_user(*, user, for_list: bool = False) -> QuerySet[Alert]:
    return (
        alerts_visible_to(user=user, for_list=for_list)
        .filter(status__in=UNRESOLVED)
        .select_related("child", "rule", "assigned_to")
        .order_by("-ladder_level", "raised_at")
    )


def alerts_open_for_child(*, user, child) -> QuerySet[Alert]:
    return alerts_open_for_user(user=user).filter(child=child)


def alert_get_for_user(*, user, public_id) -> Alert:
    alert = (
        alerts_visible_to(user=user)
        .select_related("child", "rule__rule_set", "assigned_to", "resolved_by_decision")
        .filter(public_id=public_id)
        .first()
    )
    if alert is None:
        if access_refusal_wanted():
            try:
                child_id = (
                    Alert.objects.filter(public_id=public_id)
                    .values_list("child_id", flat=True)
                    .first()
                )
            except (ValueError, ValidationError):  # not a UUID: no such alert
                child_id = None
            access_refused(user=user, asked_for="alert", public_id=public_id, child_id=child_id)
        raise Http404("No alert found")
    return alert


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def dashboard_figures(*, user, alerts: QuerySet[Alert]) -> dict:
    """The manager's dashboard counts: the alerts (already scoped to the user and
    filtered as the page is) counted in one aggregate query, however many there are
    and whichever page of them is shown, and two aggregate queries over the user's
    children."""
    now = timezone.now()
    today = timezone.localdate()
    counts = {f"level_{level}": Count("pk", filter=Q(ladder_level=level)) for level in (1, 2, 3)}
    # An alert's age is counted in whole local days since the day it was raised.
    for low, high, _label in AGE_BANDS:
        raised = Q(raised_at__lt=_local_midnight(today - datetime.timedelta(days=low - 1)))
        if high is not None:
            raised &= Q(raised_at__gte=_local_midnight(today - datetime.timedelta(days=high)))
        counts[f"age_{low}"] = Count("pk", filter=raised)
    counts["overdue"] = Count("pk", filter=Q(ladder_due_at__lt=now))
    totals = alerts.order_by().aggregate(**counts)
    by_level = {level: totals[f"level_{level}"] for level in (1, 2, 3)}
    by_age = {label: totals[f"age_{low}"] for low, _, label in AGE_BANDS}
    overdue = totals["overdue"]
    visible = children_visible_to(user=user, for_list=True)
    levels = dict(
        ChildWatch.objects.filter(child__in=visible)
        .values_list("level")
        .annotate(n=Count("child"))
        .values_list("level", "n")
    )
    year_ago = today - datetime.timedelta(days=365)
    turnover = (
        Allocation.objects.filter(child__in=visible, started_on__gt=year_ago)
        .values("child__public_id", "child__given_names", "child__family_name")
        .annotate(changes=Count("id"))
        .filter(changes__gte=2)
        .order_by("-changes")[:10]
    )
    return {
        "by_level": by_level,
        "by_age": by_age,
        "overdue": overdue,
        "children_by_level": {level: levels.get(level, 0) for level in (1, 2, 3, 4)},
        "turnover": list(turnover),
    }


def notifications_unread_for_user(*, user) -> QuerySet[Notification]:
    """The user's unread alert notifications, about children they may still read."""
    return Notification.objects.filter(
        Q(user=user), read_at__isnull=True, alert__child__in=children_visible_to(user=user)
    ).exclude(alert__status=AlertStatus.RESOLVED)


def trend_stored(
    *,
    child: Child,
    days: list[datetime.date],
    more_rows_than: int,
    config: ScoringConfig,
    domains: list[str],
) -> tuple[list[Decimal], Score] | None:
    """The child's totals on `days` (the last being today) and today's score, as the
    child's last evaluation worked them out, when they still hold; None otherwise,
    and for a child with at most `more_rows_than` scored rows, whose page lists
    every contribution and so scores afresh anyway. One query.

    They hold when the evaluation ran today, with this configuration and these
    domains, and nothing has been written about the child since: every write
    marks the watch (`due_since`) in its own transaction, and only an evaluation
    that began after the mark clears it, so a clear mark means the evaluation saw
    every entry there is. (The evaluation itself checks the entries' ids against
    the key; here, the mark stands in for reading 5,000 ids.)

    The score is not explained (no contributions): for a long chronology, reading
    and scoring every row is most of the page's time, and today's evaluation has
    just done it."""
    watch = (
        ChildWatch.objects.filter(child=child)
        .values_list("month_totals", "due_since", "evaluated_at")
        .first()
    )
    if watch is None:
        return None
    stored, due_since, evaluated_at = watch
    today = days[-1]
    if (
        due_since is not None
        or evaluated_at is None
        or timezone.localtime(evaluated_at).date() != today
        or stored.get("rows", 0) <= more_rows_than
        or not stored.get("key", "").startswith(evidence_key_prefix(rules=config, domains=domains))
    ):
        return None
    totals = stored["totals"]
    if any(day.isoformat() not in totals for day in days):
        return None
    trend = [Decimal(totals[day.isoformat()]).scaleb(-3) for day in days]
    score = Score(
        as_of=today,
        config_version=config.version,
        total=trend[-1],
        level=config.level_for(trend[-1]),
        by_domain={},
    )
    return trend, score


@dataclass(frozen=True)
class BackgroundJob:
    """How long ago a periodic job last ran (None: never), and whether that is too long."""

    name: str
    label: str
    age_seconds: int | None
    stale: bool

    @property
    def age_minutes(self) -> int | None:
        return None if self.age_seconds is None else self.age_seconds // 60


def background_jobs_status(*, now: datetime.datetime | None = None) -> list[BackgroundJob]:
    """The sweep and the ladder tick, each with the age of its last heartbeat. A job
    is stale when it has never run or last ran more than HEARTBEAT_MAX_AGE seconds
    ago: then beat or the worker is not doing its work. One query."""
    now = now or timezone.now()
    beats = dict(Heartbeat.objects.values_list("name", "last_beat"))
    jobs = []
    for name in HeartbeatName:
        last = beats.get(name.value)
        age = None if last is None else max(0, int((now - last).total_seconds()))
        stale = age is None or age > settings.HEARTBEAT_MAX_AGE
        jobs.append(BackgroundJob(name=name.value, label=name.label, age_seconds=age, stale=stale))
    return jobs
