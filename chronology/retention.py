"""Retention review: which children's records are due for a decision on keeping them.

Nothing here deletes anything. The list is for a person to review; records under
legal hold never appear on it."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, Max, OuterRef

from .models import Child, LegalHold, RetentionBasis, RetentionClass, StatusPeriod


@dataclass(frozen=True)
class RetentionDue:
    child_public_id: str
    child_ref: str | None
    retention_class: str
    due_on: datetime.date
    last_contact: datetime.date | None


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retention_class_for(statuses: set[str], classes: list[RetentionClass]) -> RetentionClass:
    """The highest-priority class the child's statuses place it in (classes come ordered)."""
    for retention_class in classes:
        if not retention_class.statuses or statuses & set(retention_class.statuses):
            return retention_class
    raise RetentionClass.DoesNotExist("Configure a default retention class (no statuses).")


def retention_review_list(
    *, as_of: datetime.date, within_days: int = 90, children=None
) -> list[RetentionDue]:
    """Children (all, or those of the `children` queryset) whose retention period
    ends within `within_days` of `as_of` (or has ended), oldest due first. Three
    queries, whatever the number of children."""
    classes = list(RetentionClass.objects.order_by("-priority", "code"))
    statuses: dict[int, set[str]] = defaultdict(set)
    for child_id, status in StatusPeriod.objects.values_list("child_id", "status"):
        statuses[child_id].add(status)
    children = (
        (Child.objects.all() if children is None else children)
        .exclude(Exists(LegalHold.objects.filter(child=OuterRef("pk"))))
        .annotate(last_contact=Max("entry_rows__entry__event_date"))
        .values_list("pk", "public_id", "ref", "date_of_birth", "last_contact")
    )
    horizon = as_of + datetime.timedelta(days=within_days)
    due = []
    for pk, public_id, ref, born, last_contact in children:
        retention_class = retention_class_for(statuses[pk], classes)
        if retention_class.basis == RetentionBasis.AGE:
            if born is None:
                continue  # cannot be computed: kept, and not proposed for review
            due_on = _add_years(born, retention_class.years)
        else:
            if last_contact is None:
                continue
            due_on = _add_years(last_contact, retention_class.years)
        if due_on <= horizon:
            due.append(
                RetentionDue(str(public_id), ref, retention_class.name, due_on, last_contact)
            )
    return sorted(due, key=lambda item: item.due_on)
