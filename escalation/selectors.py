"""Reads of alerts and escalation figures, always scoped to the user."""

import datetime

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from chronology.models import Allocation
from chronology.selectors import children_visible_to

from .models import UNRESOLVED, Alert, AlertStatus, ChildWatch, Notification

AGE_BANDS = [(0, 2, "0–2 days"), (3, 7, "3–7 days"), (8, None, "over a week")]


def alerts_visible_to(*, user) -> QuerySet[Alert]:
    """Alerts about children the user may read: one query with the visibility EXISTS."""
    return Alert.objects.filter(child__in=children_visible_to(user=user))


def alerts_open_for_user(*, user) -> QuerySet[Alert]:
    return (
        alerts_visible_to(user=user)
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
        raise Http404("No alert found")
    return alert


def dashboard_figures(*, user, alerts: list[Alert]) -> dict:
    """The manager's dashboard counts, from alerts already fetched for the user and
    two aggregate queries over the user's children."""
    now = timezone.now()
    today = timezone.localdate()
    by_level = {level: 0 for level in (1, 2, 3)}
    by_age = {label: 0 for _, _, label in AGE_BANDS}
    overdue = 0
    for alert in alerts:
        by_level[alert.ladder_level] += 1
        age = (today - timezone.localtime(alert.raised_at).date()).days
        for low, high, label in AGE_BANDS:
            if age >= low and (high is None or age <= high):
                by_age[label] += 1
        if alert.ladder_due_at and alert.ladder_due_at < now:
            overdue += 1
    visible = children_visible_to(user=user)
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
