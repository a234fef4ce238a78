"""Reads, always scoped to the user asking.

A child is visible to a user while the user's agency has an active involvement
with it, and only to roles that work with records (see agencies.models.RECORD_ROLES).
Every function here starts from that rule; none lists from `objects.all()`.
"""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Amendment, Child, Entry, EntryCategory, Involvement


def children_visible_to(*, user) -> QuerySet[Child]:
    """The children `user` may read today, as one query with an EXISTS."""
    if not getattr(user, "is_authenticated", False) or not user.reads_records:
        return Child.objects.none()
    active = Involvement.objects.active_on(timezone.localdate()).filter(
        child=OuterRef("pk"), agency_id=user.agency_id
    )
    return Child.objects.filter(Exists(active))


def child_is_visible_to(*, user, child: Child) -> bool:
    return children_visible_to(user=user).filter(pk=child.pk).exists()


def child_get_for_user(*, user, public_id) -> Child:
    """The child with this public id, if `user` may read it. Otherwise 404, the same
    answer as for a child that does not exist, so outsiders learn nothing."""
    child = (
        children_visible_to(user=user)
        .select_related("household")
        .filter(public_id=public_id)
        .first()
    )
    if child is None:
        raise Http404("No child found")
    return child


def entries_for_child(*, user, child: Child, include_superseded: bool = False) -> QuerySet[Entry]:
    """The chronology of a child `user` may read, oldest first, ready to display.

    Superseded and entered-in-error entries are left out unless asked for; each
    returned entry carries its amendment (if any) and categories without extra
    queries per row.
    """
    if not child_is_visible_to(user=user, child=child):
        raise Http404("No child found")
    entries = Entry.objects.filter(child_rows__child=child)
    if not include_superseded:
        entries = entries.current()
    return entries.select_related(
        "agency", "author", "amends__entry", "amends__author"
    ).prefetch_related(
        Prefetch("category_rows", queryset=EntryCategory.objects.order_by("id")),
        "children",
    )


def amendments_for_child(*, user, child: Child) -> QuerySet[Amendment]:
    if not child_is_visible_to(user=user, child=child):
        raise Http404("No child found")
    return Amendment.objects.filter(entry__child_rows__child=child).select_related(
        "entry", "replacement", "author"
    )
