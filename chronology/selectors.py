"""Reads, always scoped to the user asking.

A child is visible to a user while the user's agency has an active involvement
with it, and only to roles that work with records (see agencies.models.RECORD_ROLES).
Every function here starts from that rule; none lists from `objects.all()`.
"""

import datetime
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Count,
    DateField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from .audit import access_refusal_wanted, access_refused, request_id_var
from .models import (
    AccessGrantKind,
    Adult,
    Allocation,
    Amendment,
    AmendmentKind,
    BreakGlassAccess,
    Child,
    ChildAccessGrant,
    ChildAdult,
    Entry,
    EntryCategory,
    EntryChild,
    Involvement,
    NotificationAck,
    StatusPeriod,
)
from .vocabulary import status_name

# The access rule, for one child row, in SQL. `{child}` and `{restricted}` are the
# child's columns as the query names them (a subquery renames its tables); every value
# is a parameter. A restricted child needs the user named on it, and no break-glass
# opens it; an outsider's grant opens one child to read, whatever the user's agency.
_INVOLVED_SQL = (
    "EXISTS (SELECT 1 FROM chronology_involvement access_involvement"
    " WHERE access_involvement.child_id = {child} AND access_involvement.agency_id = %s"
    " AND access_involvement.started_on <= %s"
    " AND (access_involvement.ended_on IS NULL OR access_involvement.ended_on > %s))"
)
_GRANTED_SQL = (
    "EXISTS (SELECT 1 FROM chronology_childaccessgrant access_grant"
    " WHERE access_grant.child_id = {child} AND access_grant.user_id = %s"
    " AND access_grant.kind = %s AND access_grant.revoked_at IS NULL"
    " AND access_grant.starts_on <= %s"
    " AND (access_grant.last_day IS NULL OR access_grant.last_day >= %s))"
)
_BREAK_GLASS_SQL = (
    "EXISTS (SELECT 1 FROM chronology_breakglassaccess access_break_glass"
    " WHERE access_break_glass.child_id = {child} AND access_break_glass.user_id = %s"
    " AND access_break_glass.expires_at > %s)"
)
# To read: involved (and named, if restricted), or an outsider's grant, or break-glass
# (unrestricted only). To write: the same without the outsider's grant.
_WRITE_SQL = (
    f"(({_INVOLVED_SQL} AND (NOT {{restricted}} OR {_GRANTED_SQL}))"
    f" OR (NOT {{restricted}} AND {_BREAK_GLASS_SQL}))"
)
_VISIBLE_SQL = (
    f"(({_INVOLVED_SQL} AND (NOT {{restricted}} OR {_GRANTED_SQL}))"
    f" OR {_GRANTED_SQL}"
    f" OR (NOT {{restricted}} AND {_BREAK_GLASS_SQL}))"
)


class VisibleTo(Expression):
    """True for a child row that the user with this id, of this agency, may read
    (or, with `write`, record entries about) on `day` at `now` (see
    children_visible_to).

    Written out in SQL because the same condition built from querysets (Exists
    over Involvement.objects.active_on, ChildAccessGrant and BreakGlassAccess) cost
    1.3 ms of Python on every request that opens a child, more than the query
    itself. The child's columns stay expressions, so Django names them right
    wherever the condition lands, in a subquery too;
    tests/chronology/test_access_rule.py checks it against the list form."""

    output_field = BooleanField()

    def __init__(
        self, *, agency_id: int, user_id: int, day: datetime.date, now, write: bool = False
    ):
        super().__init__()
        self.child, self.restricted = F("pk"), F("restricted")
        self.agency_id, self.user_id, self.day, self.now = agency_id, user_id, day, now
        self.write = write

    def get_source_expressions(self):
        return [self.child, self.restricted]

    def set_source_expressions(self, exprs):
        self.child, self.restricted = exprs

    def as_sql(self, compiler, connection):
        child_sql, child_params = compiler.compile(self.child)
        restricted_sql, restricted_params = compiler.compile(self.restricted)
        if child_params or restricted_params:  # always bare columns
            raise ValueError("VisibleTo expects the child's columns")
        day = connection.ops.adapt_datefield_value(self.day)
        now = connection.ops.adapt_datetimefield_value(self.now)
        involved = (self.agency_id, day, day)
        named = (self.user_id, AccessGrantKind.NAMED, day, day)
        outsider = (self.user_id, AccessGrantKind.OUTSIDER, day, day)
        glass = (self.user_id, now)
        template = _WRITE_SQL if self.write else _VISIBLE_SQL
        sql = template.format(child=child_sql, restricted=restricted_sql)
        if self.write:
            return sql, (*involved, *named, *glass)
        return sql, (*involved, *named, *outsider, *glass)


def children_visible_to(*, user, for_list: bool = False) -> QuerySet[Child]:
    """The children `user` may read now: an active involvement of the user's agency
    (and, for a restricted child, the user named on it by a live grant), or the
    user's own live outsider's grant, or the user's own unexpired break-glass access
    to a child that is not restricted.

    Two SQL shapes of the one rule. By default, EXISTS conditions (`VisibleTo`): the
    right form to fetch one child, or to check the children of some other rows. With
    `for_list`, the child's id IN (the agency's involvements UNION ALL the user's
    grants and accesses), then the restriction: the right form to list everything
    the user may see, because PostgreSQL starts from the agency's involvements and
    estimates the size of the list right, where the EXISTS form tests each of the
    county's children (and, misjudging the list as tens of thousands of rows, spends
    half a second compiling it with JIT). Do not use `for_list` to fetch one child:
    it would gather every child of a large agency first."""
    if not getattr(user, "is_authenticated", False) or not user.reads_records:
        return Child.objects.none()
    today, now = timezone.localdate(), timezone.now()
    if for_list:
        active = Involvement.objects.active_on(today).filter(agency_id=user.agency_id)
        emergency = BreakGlassAccess.objects.filter(user_id=user.pk, expires_at__gt=now)
        grants = ChildAccessGrant.objects.live_on(today).filter(user_id=user.pk)
        outsider = grants.filter(kind=AccessGrantKind.OUTSIDER)
        granted = active.values("child_id").union(
            emergency.values("child_id"), outsider.values("content_object_id"), all=True
        )
        # A restricted child among them only with the user named on it while the
        # agency is involved, or by the user's outsider's grant: the same rule as
        # VisibleTo, checked for restricted children only.
        involved = Involvement.objects.active_on(today).filter(
            agency_id=user.agency_id, child_id=OuterRef(OuterRef("pk"))
        )
        named = grants.filter(content_object=OuterRef("pk")).filter(
            Q(kind=AccessGrantKind.OUTSIDER) | Q(Exists(involved), kind=AccessGrantKind.NAMED)
        )
        return Child.objects.filter(pk__in=granted).filter(Q(restricted=False) | Exists(named))
    return Child.objects.filter(
        VisibleTo(agency_id=user.agency_id, user_id=user.pk, day=today, now=now)
    )


def children_writable_by(*, user) -> QuerySet[Child]:
    """The children `user` may record entries about: those they may read, except
    through an outsider's grant, which is view only."""
    if not getattr(user, "is_authenticated", False) or not user.reads_records:
        return Child.objects.none()
    return Child.objects.filter(
        VisibleTo(
            agency_id=user.agency_id,
            user_id=user.pk,
            day=timezone.localdate(),
            now=timezone.now(),
            write=True,
        )
    )


def child_is_writable_by(*, user, child: Child) -> bool:
    return children_writable_by(user=user).filter(pk=child.pk).exists()


def children_with_agency_involved(*, agency) -> QuerySet[Child]:
    """The children `agency` has an active involvement with today: the agency's half
    of the access rule (children_visible_to adds a user's own break-glass access).

    Imports use this one: a file may add to an existing child only when the
    importing agency already works with the child. A person's emergency access is
    never a reason to write an agency's history into someone else's record. Nor is
    an agency's involvement with a restricted record: only the people named on it
    see it, so a file never reaches it (they record there one entry at a time)."""
    active = Involvement.objects.active_on(timezone.localdate()).filter(agency_id=agency.pk)
    return Child.objects.filter(pk__in=active.values("child_id"), restricted=False)


def break_glass_active_for(*, user, child: Child) -> BreakGlassAccess | None:
    """The user's unexpired break-glass access to `child`, if that is how they see it."""
    return (
        BreakGlassAccess.objects.filter(user_id=user.pk, child=child, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )


def child_is_visible_to(*, user, child: Child) -> bool:
    return children_visible_to(user=user).filter(pk=child.pk).exists()


def child_get_for_user(*, user, public_id) -> Child:
    """The child with this public id, if `user` may read it. Otherwise 404, the same
    answer as for a child that does not exist, so outsiders learn nothing.

    The child carries `may_write`: whether the user may also record entries about
    it (not through an outsider's grant, which is view only), from the same query.
    It remembers that it passed the check for this user in this request (see
    `child_checked_in_this_request`), so a write in the same request need not ask again."""
    today, now = timezone.localdate(), timezone.now()
    child = (
        children_visible_to(user=user)
        .select_related("household")
        .annotate(
            may_write=VisibleTo(
                agency_id=user.agency_id, user_id=user.pk, day=today, now=now, write=True
            )
            if getattr(user, "is_authenticated", False) and user.reads_records
            else Value(False)
        )
        .filter(public_id=public_id)
        .first()
    )
    if child is None:
        child_refused(user=user, public_id=public_id)
        raise Http404("No child found")
    request_id = request_id_var.get()
    if request_id:
        # Read back by child_checked_in_this_request; not a model field.
        child._visible_in_request = (user, request_id)  # type: ignore[attr-defined]
    return child


def child_refused(*, user, public_id=None, child: Child | None = None) -> None:
    """Note, for the access.denied audit row, that `user` was refused this child (by
    public id, or the child itself), naming the child if it exists."""
    if not access_refusal_wanted():
        return
    child_id: int | None
    if child is not None:
        public_id, child_id = child.public_id, child.pk
    else:
        try:
            found = Child.objects.filter(public_id=public_id).values_list("pk", flat=True)
            child_id = found.first()
        except (ValueError, ValidationError):  # not a UUID: no such child
            child_id = None
    access_refused(user=user, asked_for="child", public_id=public_id, child_id=child_id)


def entry_refused(*, user, public_id) -> None:
    """Note that `user` was refused the entry with this public id (see child_refused);
    the child named is the first the entry is about."""
    if not access_refusal_wanted():
        return
    try:
        child_id = (
            EntryChild.objects.filter(entry__public_id=public_id)
            .order_by("pk")
            .values_list("child_id", flat=True)
            .first()
        )
    except (ValueError, ValidationError):
        child_id = None
    access_refused(user=user, asked_for="entry", public_id=public_id, child_id=child_id)


def child_checked_in_this_request(*, user, child: Child) -> bool:
    """Whether this very `child` object came from `child_get_for_user` for this very
    `user` object while serving the current request (and so carries `may_write`).

    Only a request has an id (safeguarding.middleware), and each request loads its
    own user, so the answer is never carried from one request to the next: access
    ended by an involvement's end applies from the next request, as before. Outside
    a request (commands, workers) the answer is always no."""
    request_id = request_id_var.get()
    stamp = getattr(child, "_visible_in_request", None)
    return bool(request_id) and stamp is not None and stamp[0] is user and stamp[1] == request_id


def entries_for_child(*, user, child: Child, include_superseded: bool = False) -> QuerySet[Entry]:
    """The chronology of a child `user` may read, oldest first, ready to display.

    Superseded and entered-in-error entries are left out unless asked for; each
    returned entry carries its amendment (if any) and categories without extra
    queries per row.
    """
    if not child_is_visible_to(user=user, child=child):
        child_refused(user=user, child=child)
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
        child_refused(user=user, child=child)
        raise Http404("No child found")
    return Amendment.objects.filter(entry__child_rows__child=child).select_related(
        "entry", "replacement", "author"
    )


# --- reads for the browser pages ---------------------------------------------------------
# These take a child already fetched with child_get_for_user (which is the access
# check), so a page does not pay for the same check twice.

SIGNIFICANT_KINDS = ("decision", "status", "referral")


def chronology_for_child_page(
    *, child: Child, filters: dict | None = None, newest_first=True, category_list=False
):
    """The standing entries about `child`, filtered, ready for a page of the chronology.

    The number of children each entry is about comes as a count in the same query,
    and categories in one more (or, with `category_list`, as `entry.category_list`
    in the same query), so a page costs the same few queries however long the
    chronology is. `filters` keys: agency (code), kind, category,
    severity (minimum), date_from, date_to, significant (bool).
    """
    filters = filters or {}
    about = EntryChild.objects.filter(entry=OuterRef("pk"), child=child)
    entries = Entry.objects.current().filter(Exists(about))
    if filters.get("agency"):
        entries = entries.filter(agency__code=filters["agency"])
    if filters.get("kind"):
        entries = entries.filter(kind=filters["kind"])
    if filters.get("category"):
        entries = entries.filter(
            Exists(EntryCategory.objects.filter(entry=OuterRef("pk"), category=filters["category"]))
        )
    if filters.get("severity"):
        entries = entries.filter(severity__gte=filters["severity"])
    if filters.get("date_from"):
        entries = entries.filter(event_date__gte=filters["date_from"])
    if filters.get("date_to"):
        entries = entries.filter(event_date__lte=filters["date_to"])
    if filters.get("significant"):
        entries = entries.filter(Q(severity__gte=3) | Q(kind__in=SIGNIFICANT_KINDS))
    return chronology_rows(entries, newest_first=newest_first, category_list=category_list)


def chronology_rows(entries, *, newest_first=True, category_list=False):
    """`entries` in chronology order, each with what a page shows of it: agency,
    author, any correction, categories and the number of children it is about
    (see chronology_for_child_page)."""
    shared = (
        EntryChild.objects.filter(entry=OuterRef("pk"))
        .order_by()
        .values("entry")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # The date is sorted as an expression, not the bare column, on purpose. With the
    # bare column PostgreSQL may choose to walk the whole entry_event_date index
    # backwards, testing every entry in the county for this child, because it costs
    # the page's LIMIT as if the window count (core.pagination.paginate) did not need every
    # row: 22 s for a child with 5,000 entries among 2 million (make bench,
    # "chronology_page"). The expression has no index, so PostgreSQL fetches the
    # child's entries through entry_child_once and sorts them: 64 ms. Same order.
    by_date = ExpressionWrapper(F("event_date") + Value(0), output_field=DateField())
    order = [by_date.asc(), "event_time", "recorded_at", "pk"]
    if newest_first:
        order = [by_date.desc(), "-event_time", "-recorded_at", "-pk"]
    entries = entries.select_related("agency", "author", "amends__entry", "amends__author")
    if category_list:
        # In the order given (by the row's id), as Entry.categories has them; read
        # through Entry.category_names.
        codes = EntryCategory.objects.filter(entry=OuterRef("pk")).order_by("id").values("category")
        entries = entries.annotate(category_list=ArraySubquery(codes))
    else:
        entries = entries.prefetch_related(
            Prefetch("category_rows", queryset=EntryCategory.objects.order_by("id"))
        )
    return entries.annotate(
        children_count=Coalesce(Subquery(shared, output_field=IntegerField()), 0)
    ).order_by(*order)


def child_words_for_child(*, child: Child) -> QuerySet[Entry]:
    """Everything the child said, to any agency, oldest first (standing entries only):
    a child's-voice entry's words, and words recorded on any other entry (a concern,
    a visit) alike."""
    return (
        Entry.objects.current()
        .filter(child_rows__child=child, child_words__isnull=False)
        .exclude(child_words="")
        .select_related("agency")
        .order_by("event_date", "event_time", "recorded_at", "pk")
    )


def siblings_visible_to(*, user, child: Child) -> QuerySet[Child]:
    """The other children of `child`'s household that `user` may read."""
    if not child.household_id:
        return Child.objects.none()
    return (
        children_visible_to(user=user)
        .filter(household_id=child.household_id)
        .exclude(pk=child.pk)
        .order_by("date_of_birth", "given_names")
    )


def children_search(*, user, query: str) -> QuerySet[Child]:
    """Children `user` may read whose name, date of birth or NHS number matches `query`.

    A date (31/12/2015 or 2015-12-31) matches the date of birth, ten digits (spaces
    allowed) the NHS number, anything else each word of the name."""
    query = query.strip()
    visible = children_visible_to(user=user).select_related("household")
    if not query:
        return visible.none()
    digits = query.replace(" ", "")
    if digits.isdigit() and len(digits) == 10:
        return visible.filter(nhs_number=digits)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d %m %Y"):
        try:
            day = datetime.datetime.strptime(query, pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
        return visible.filter(date_of_birth=day)
    condition = Q()
    for word in query.split():
        condition &= Q(given_names__icontains=word) | Q(family_name__icontains=word)
    return visible.filter(condition)


def adults_for_child(*, child: Child) -> QuerySet[ChildAdult]:
    return ChildAdult.objects.filter(child=child).select_related("adult").order_by("id")


def status_periods_for_child(*, child: Child) -> QuerySet[StatusPeriod]:
    return StatusPeriod.objects.filter(child=child).order_by("started_on", "pk")


@dataclass(frozen=True)
class StatusRow:
    """One line of a status timeline: what it was, from when, to when (None: now)."""

    status: str
    started_on: datetime.date
    ended_on: datetime.date | None
    superseded_by: str = ""

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


def status_timeline_for_child(*, child: Child) -> list[StatusRow]:
    """The child's statuses, oldest first, with one current status at most.

    The plan and care tracks may both be open (vocabulary.PLAN_TRACK, CARE_TRACK),
    but a reader asks "what is the child's status now": the latest status to start
    is the current one, and an earlier one still open is shown as running until
    the later one began."""
    periods = list(status_periods_for_child(child=child))
    open_periods = [p for p in periods if p.ended_on is None]
    latest = max(open_periods, key=lambda p: (p.started_on, p.pk)) if open_periods else None
    rows = []
    for period in periods:
        label = status_name(period.status)
        # An open period makes `latest` one (the test on None is for the type checker).
        if period.ended_on is None and period is not latest and latest is not None:
            rows.append(
                StatusRow(label, period.started_on, latest.started_on, status_name(latest.status))
            )
        else:
            rows.append(StatusRow(label, period.started_on, period.ended_on))
    return rows


def entries_in_error_for_child(*, child: Child, limit: int = 50) -> list[Amendment]:
    """The newest entries about `child` marked entered in error, with who marked them
    and why: they leave the chronology and the score, not the record. One query."""
    return list(
        Amendment.objects.filter(
            kind=AmendmentKind.ENTERED_IN_ERROR, entry__child_rows__child=child
        )
        .select_related("entry__agency", "author")
        .order_by("-recorded_at", "-pk")[:limit]
    )


def allocations_for_child(*, child: Child) -> QuerySet[Allocation]:
    return (
        Allocation.objects.filter(child=child)
        .select_related("worker", "agency")
        .order_by("started_on", "pk")
    )


def referrals_and_decisions_for_child(*, child: Child) -> QuerySet[Entry]:
    """Standing referral and decision entries about `child`, oldest first."""
    return (
        Entry.objects.current()
        .filter(child_rows__child=child, kind__in=("referral", "decision"))
        .select_related("agency")
        .order_by("event_date", "event_time", "recorded_at", "pk")
    )


def timeline_rows_for_child(*, child: Child, start: datetime.date, end: datetime.date):
    """(date, agency name, kind, severity) of each standing entry in the period: one query."""
    return (
        Entry.objects.current()
        .filter(child_rows__child=child, event_date__gte=start, event_date__lte=end)
        .order_by("event_date", "pk")
        .values_list("event_date", "agency__name", "kind", "severity")
    )


def adults_named_for_child(*, child: Child) -> QuerySet[Adult]:
    """Adults linked to `child`, living in its household, or named on its entries."""
    named = Q(child_links__child=child) | Q(entry_rows__entry__child_rows__child=child)
    if child.household_id:
        named |= Q(household_id=child.household_id)
    ids = Adult.objects.filter(named).values("pk")
    return Adult.objects.filter(pk__in=ids).order_by("pk")


def entry_get_for_user(*, user, public_id) -> Entry:
    """An entry about a child `user` may read; otherwise 404, as for a missing one."""
    about_visible = EntryChild.objects.filter(
        entry=OuterRef("pk"), child__in=children_visible_to(user=user)
    )
    entry = Entry.objects.filter(Exists(about_visible), public_id=public_id).first()
    if entry is None:
        entry_refused(user=user, public_id=public_id)
        raise Http404("No entry found")
    return entry


def child_find_for_break_glass(
    *, nhs_number: str = "", given_names: str = "", family_name: str = "", date_of_birth=None
) -> Child | None:
    """The one child matching these identifiers exactly, among all children.

    The only read that looks beyond the user's involvements, so it demands exact
    identifiers (an NHS number, or full name and date of birth) and returns at
    most one child; the caller must then open it with a written reason.

    A restricted child is never found: break-glass does not open it, and the answer
    is the same as for no match, so the search does not confirm it exists."""
    children = Child.objects.filter(restricted=False)
    if nhs_number:
        matches = children.filter(nhs_number=nhs_number.replace(" ", ""))
    elif given_names and family_name and date_of_birth:
        matches = children.filter(
            given_names__iexact=given_names.strip(),
            family_name__iexact=family_name.strip(),
            date_of_birth=date_of_birth,
        )
    else:
        return None
    found = list(matches[:2])
    return found[0] if len(found) == 1 else None


def notifications_for_user(*, user, acknowledged: bool) -> QuerySet[Entry]:
    """Standing notifications from other agencies about children `user` may read,
    acknowledged or not, newest first."""
    about = EntryChild.objects.filter(
        entry=OuterRef("pk"), child__in=children_visible_to(user=user)
    )
    acked = Exists(NotificationAck.objects.filter(entry=OuterRef("pk")))
    entries = (
        Entry.objects.current()
        .filter(Exists(about), kind="notification")
        .exclude(agency_id=user.agency_id)
        .annotate(is_acked=acked)
        .filter(is_acked=acknowledged)
    )
    return (
        entries.select_related("agency", "acknowledgement__acknowledged_by")
        .prefetch_related(
            Prefetch("child_rows", queryset=EntryChild.objects.select_related("child"))
        )
        .order_by("-event_date", "-recorded_at")
    )
