"""Writes to children and their chronology.

Every function here:
- runs in one transaction, so a failure saves nothing;
- takes the acting user as the required keyword `actor`;
- checks that the actor's agency may write about each child it touches;
- writes its audit row in the same transaction.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from agencies.models import RECORD_ROLES, Agency, AgencyKind, Role, User
from core.concurrency import check_version

from .audit import audit_record, audit_record_each
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
    DecisionAttendance,
    Entry,
    EntryAdult,
    EntryCategory,
    EntryChild,
    EntryRequest,
    Household,
    ImportBatch,
    Involvement,
    LegalHold,
    NotificationAck,
    StatusPeriod,
)
from .selectors import (
    child_checked_in_this_request,
    child_is_visible_to,
    child_is_writable_by,
    child_refused,
)
from .signals import children_changed
from .validators import storable_text_errors
from .vocabulary import (
    CARE_TRACK,
    ENDING_STATUSES,
    PLAN_TRACK,
    Category,
    DatePrecision,
    DecisionOutcome,
    DecisionType,
    EntryKind,
    Status,
)

# --- the one date rule -------------------------------------------------------------------

# The earliest date any record may carry. A chronology reaches back into a parent's
# own childhood, so it needs decades, but nothing in a living child's case comes
# before 1900. A floor far from year 1 also keeps every date sum that scores and
# rules make (a lookback of months or years before an event) inside the calendar
# that Python's dates and PostgreSQL's can hold: "0001-01-01" once made every
# back-test fail with "year -1 is out of range".
DATE_FLOOR = datetime.date(1900, 1, 1)
DATE_TOO_EARLY = "The date cannot be before 1 January 1900."
DATE_IN_FUTURE = "The date cannot be in the future."


def date_problem(*, day: datetime.date | None) -> str | None:
    """What is wrong with a date a record would carry, or None. The one rule for
    every path (forms, the API, imports, amendments): not before DATE_FLOOR, not
    after today. A date of birth too: the system has no record of unborn children."""
    if day is None:
        return None
    if day < DATE_FLOOR:
        return DATE_TOO_EARLY
    if day > timezone.localdate():
        return DATE_IN_FUTURE
    return None


def date_validate(*, day: datetime.date | None, field: str) -> None:
    """Raise ValidationError naming `field` when `day` breaks the date rule."""
    problem = date_problem(day=day)
    if problem:
        raise ValidationError({field: problem})


def _require_write_access(actor, child: Child) -> None:
    """Service accounts (imports, command-line tools) act for the operator; everyone
    else writes only about children they may write about: the access rule's write
    form (an outsider's grant is view only; a restricted child needs the actor named).

    A child the actor has just opened with `child_get_for_user`, in this request,
    carries the answer already (the same rule, one query earlier)."""
    if actor.agency.is_system:
        return
    if child_checked_in_this_request(user=actor, child=child):
        allowed = child.may_write  # type: ignore[attr-defined]  # annotated by child_get_for_user
    else:
        allowed = child_is_writable_by(user=actor, child=child)
    if not allowed:
        if not child_is_visible_to(user=actor, child=child):
            child_refused(user=actor, child=child)
            # The same answer as for a child that does not exist.
            raise PermissionDenied("No child found")
        raise PermissionDenied("Your access to this child's record is view only.")


# --- children and the people around them -------------------------------------------


@transaction.atomic
def child_create(
    *,
    actor,
    given_names: str,
    family_name: str = "",
    date_of_birth: datetime.date | None = None,
    date_of_birth_precision: str = DatePrecision.DAY,
    sex: str | None = None,
    nhs_number: str | None = None,
    unique_pupil_number: str | None = None,
    household: Household | None = None,
    ref: str | None = None,
    notes: str = "",
    extra: dict | None = None,
    involvement_reason: str = "Recorded the child",
) -> Child:
    """Create a child and give the actor's agency an involvement, so the person who
    recorded the child can go on to see it."""
    date_validate(day=date_of_birth, field="date_of_birth")
    # Every path checks text before it gets here; this is the last door before the
    # INSERT, where NUL or a lone surrogate would be a server error.
    unstorable = storable_text_errors(
        {"ref": ref, "given_names": given_names, "family_name": family_name, "notes": notes}
    )
    if unstorable:
        raise ValidationError(unstorable)
    child = Child(
        given_names=given_names,
        family_name=family_name,
        date_of_birth=date_of_birth,
        date_of_birth_precision=date_of_birth_precision,
        sex=sex or None,
        nhs_number=nhs_number or None,
        unique_pupil_number=unique_pupil_number or None,
        household=household,
        ref=ref or None,
        notes=notes,
        extra=extra or {},
    )
    child.full_clean()
    child.save()
    audit_record(actor=actor, action="child.create", child=child, obj=child)
    if not actor.agency.is_system:
        involvement_grant(actor=actor, child=child, agency=actor.agency, reason=involvement_reason)
    return child


@transaction.atomic
def household_create(*, actor, name: str, children: Iterable[Child] = ()) -> Household:
    household = Household.objects.create(name=name)
    for child in children:
        _require_write_access(actor, child)
        child.household = household
        child.save(update_fields=["household"])
        audit_record(actor=actor, action="household.join", child=child, obj=household)
    return household


@transaction.atomic
def adult_link(
    *,
    actor,
    child: Child,
    relationship: str,
    adult: Adult | None = None,
    name: str = "",
    notes: str = "",
    known_to_police_or_probation: bool = False,
    poses_risk_to_children: bool = False,
    extra: dict | None = None,
) -> ChildAdult:
    """Link an adult to a child, creating the adult when none is given."""
    _require_write_access(actor, child)
    if adult is None:
        adult = Adult.objects.create(
            name=name,
            notes=notes,
            known_to_police_or_probation=known_to_police_or_probation,
            poses_risk_to_children=poses_risk_to_children,
            household=child.household,
            extra=extra or {},
        )
    link = ChildAdult.objects.create(child=child, adult=adult, relationship=relationship)
    audit_record(
        actor=actor,
        action="adult.link",
        child=child,
        obj=adult,
        details={"relationship": relationship},
    )
    return link


@transaction.atomic
def adult_flag_risk(*, actor, child: Child, adult: Adult, reason: str) -> Entry:
    """Flag an adult linked to `child` as a risk to children, with the reason.

    The flag is on the adult (so every child they are linked to shows it); the
    reason goes into the chronology as a note naming the adult, so who flagged them,
    when and why stays in the append-only record."""
    _require_write_access(actor, child)
    if not reason.strip():
        raise ValidationError({"reason": "Say why this adult is a risk to children."})
    if not ChildAdult.objects.filter(child=child, adult=adult).exists():
        raise ValidationError({"adult": "Select an adult linked to this child."})
    Adult.objects.filter(pk=adult.pk).update(poses_risk_to_children=True)
    adult.poses_risk_to_children = True
    entry = entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=timezone.localdate(),
        categories=["risky_adults"],
        summary=f"{adult.name} flagged as a risk to children: {reason.strip()}",
        adults=[adult],
    )
    audit_record(
        actor=actor,
        action="adult.flag",
        child=child,
        obj=adult,
        details={"entry": str(entry.public_id)},
    )
    return entry


# --- involvement: who may see the child ----------------------------------------------


@transaction.atomic
def involvement_grant(
    *,
    actor,
    child: Child,
    agency: Agency,
    reason: str,
    started_on: datetime.date | None = None,
) -> Involvement:
    """Give `agency` access to `child` from `started_on` (today by default).

    An agency already involved keeps its open involvement; no second one is made."""
    if agency.is_system:
        raise ValidationError({"agency": "A system agency cannot be involved with a child."})
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the involvement."})
    open_involvement = Involvement.objects.filter(
        child=child, agency=agency, ended_on__isnull=True
    ).first()
    if open_involvement is not None:
        return open_involvement
    involvement = Involvement.objects.create(
        child=child,
        agency=agency,
        started_on=started_on or timezone.localdate(),
        reason=reason,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="involvement.grant",
        child=child,
        obj=involvement,
        details={"agency": agency.code, "reason": reason},
    )
    return involvement


@transaction.atomic
def involvement_end(
    *,
    actor,
    involvement: Involvement,
    reason: str,
    ended_on: datetime.date | None = None,
    expected_revision: int | None = None,
) -> Involvement:
    """End an involvement. Ended today, the agency loses access on its next request.
    With `expected_revision`, a change made since the caller read it is refused."""
    involvement = Involvement.objects.select_for_update().get(pk=involvement.pk)
    check_version(involvement.revision, expected_revision, "involvement")
    if involvement.ended_on is not None:
        raise ValidationError({"involvement": "This involvement has already ended."})
    ended_on = ended_on or timezone.localdate()
    if ended_on < involvement.started_on:
        raise ValidationError({"ended_on": "An involvement cannot end before it started."})
    involvement.ended_on = ended_on
    involvement.end_reason = reason
    involvement.revision += 1
    involvement.save(update_fields=["ended_on", "end_reason", "revision"])
    audit_record(
        actor=actor,
        action="involvement.end",
        child=involvement.child,
        obj=involvement,
        details={"agency": involvement.agency.code, "reason": reason, "ended_on": str(ended_on)},
    )
    return involvement


# --- the chronology --------------------------------------------------------------------


def _validate_entry(
    *,
    kind: str,
    categories: Sequence[str],
    severity: int | None,
    summary: str,
    status: str | None,
    decision_type: str | None,
    decision_outcome: str | None,
    scores: dict | None,
    children: Sequence[Child],
    event_date: datetime.date,
    acknowledged_on,
    texts: dict[str, str | None],
) -> None:
    errors: dict[str, str] = storable_text_errors(texts)
    for field, day in (("event_date", event_date), ("acknowledged_on", acknowledged_on)):
        problem = date_problem(day=day) if isinstance(day, datetime.date) else None
        if problem:
            errors[field] = problem
    if kind not in EntryKind.values:
        errors["kind"] = f"Unknown kind '{kind}'."
    unknown = [c for c in categories if c not in Category.values]
    if unknown:
        errors["categories"] = f"Unknown category '{unknown[0]}'."
    if len(set(categories)) != len(categories):
        errors["categories"] = "A category is listed twice."
    if severity is not None and not (isinstance(severity, int) and 1 <= severity <= 5):
        errors["severity"] = "Severity is a whole number from 1 to 5."
    if not summary.strip():
        errors["summary"] = "Say what happened."
    if kind == EntryKind.STATUS and status not in Status.values:
        errors["status"] = f"A status entry needs a known status, not '{status}'."
    if kind != EntryKind.STATUS and status:
        errors["status"] = "Only a status entry carries a status."
    if kind == EntryKind.DECISION:
        if decision_type not in DecisionType.values:
            errors["decision"] = f"Unknown decision type '{decision_type}'."
        elif decision_outcome is not None and decision_outcome not in DecisionOutcome.values:
            errors["decision"] = f"Unknown decision outcome '{decision_outcome}'."
    if scores is not None and not isinstance(scores, dict):
        errors["scores"] = "Scores map each domain to a grade from 1 to 5."
    elif scores is not None:
        bad = [
            domain
            for domain, grade in scores.items()
            if not (isinstance(grade, int) and not isinstance(grade, bool) and 1 <= grade <= 5)
        ]
        if bad:
            errors["scores"] = f"Each domain is graded 1 to 5 ('{bad[0]}' is not)."
    if not children:
        errors["children"] = "Name at least one child."
    if errors:
        raise ValidationError(errors)


UNSET = object()


@dataclass(frozen=True)
class EntryDraft:
    """One entry to append, as entry_record takes it: for entries_record_bulk.

    `source_ref` and `source_row` say where an imported entry came from in its file
    (its ref there, and its line or position); with the batch, its provenance."""

    children: Sequence[Child]
    kind: str
    event_date: datetime.date
    summary: str
    agency: Agency | None = None
    date_precision: str = DatePrecision.DAY
    event_time: datetime.time | None = None
    categories: Sequence[str] = ()
    severity: int | None = None
    child_words: str | None = None
    action: str | None = None
    status: str | None = None
    decision_type: str | None = None
    decision_outcome: str | None = None
    decision_notes: str | None = None
    agencies_present: Sequence[Agency] = ()
    scores: dict | None = None
    adults: Sequence[Adult] = ()
    source_ref: str = ""
    source_row: int | None = None
    extra: dict | None = None
    acknowledged_on: object = UNSET


class EntryDraftRefused(Exception):
    """entries_check / entries_record_bulk: the draft at `index` breaks a rule.
    `error` is the ValidationError or PermissionDenied entry_record would raise."""

    def __init__(self, index: int, error: ValidationError | PermissionDenied):
        self.index = index
        self.error = error
        super().__init__(f"entry {index}: {error}")


def _entry_check(actor, draft: EntryDraft) -> Agency:
    """The rules of one entry that need no query: whose agency it is (only service
    accounts record for another agency), then _validate_entry. Returns the agency.
    The one home of these rules for entry_record and entries_record_bulk."""
    agency = draft.agency or actor.agency
    if agency != actor.agency and not actor.agency.is_system:
        raise PermissionDenied("You can record entries only for your own agency.")
    _validate_entry(
        kind=draft.kind,
        categories=draft.categories,
        severity=draft.severity,
        summary=draft.summary,
        status=draft.status,
        decision_type=draft.decision_type,
        decision_outcome=draft.decision_outcome,
        scores=draft.scores,
        children=draft.children,
        event_date=draft.event_date,
        acknowledged_on=draft.acknowledged_on,
        texts={
            "summary": draft.summary,
            "child_words": draft.child_words,
            "action": draft.action,
            "decision_notes": draft.decision_notes,
        },
    )
    return agency


def _entry_row(actor, draft: EntryDraft, agency: Agency, import_batch) -> Entry:
    """The Entry row of a checked draft, not yet saved."""
    decision = draft.kind == EntryKind.DECISION
    return Entry(
        event_date=draft.event_date,
        date_precision=draft.date_precision,
        event_time=draft.event_time,
        agency=agency,
        author=actor,
        kind=draft.kind,
        severity=draft.severity,
        summary=draft.summary,
        child_words=draft.child_words,
        action=draft.action,
        status=draft.status or None,
        decision_type=draft.decision_type if decision else None,
        decision_outcome=draft.decision_outcome if decision else None,
        decision_notes=draft.decision_notes if decision else None,
        scores=draft.scores,
        import_batch=import_batch,
        source_ref=draft.source_ref,
        source_row=draft.source_row,
        extra=draft.extra or {},
    )


def _entry_links(actor, entry: Entry, draft: EntryDraft):
    """The rows an entry's draft adds beside it, in the order written: children,
    categories, adults, agencies present, acknowledgement (unsaved)."""
    children = [EntryChild(entry=entry, child=c) for c in draft.children]
    categories = [EntryCategory(entry=entry, category=c) for c in draft.categories]
    adults = [EntryAdult(entry=entry, adult=a) for a in draft.adults]
    present = (
        [DecisionAttendance(entry=entry, agency=a) for a in dict.fromkeys(draft.agencies_present)]
        if draft.kind == EntryKind.DECISION
        else []
    )
    acknowledged = draft.acknowledged_on
    acks = (
        [
            NotificationAck(
                entry=entry,
                acknowledged_on=cast(datetime.date, acknowledged),
                acknowledged_by=actor,
            )
        ]
        if draft.kind == EntryKind.NOTIFICATION and acknowledged is not UNSET and acknowledged
        else []
    )
    return children, categories, adults, present, acks


def _entry_periods(entry: Entry, draft: EntryDraft, agency: Agency, worker, team: str) -> None:
    """Status periods and allocations kept in step with a written entry."""
    for child in draft.children:
        if draft.kind == EntryKind.STATUS:
            # _validate_entry has made sure a status entry names a status.
            _status_apply(
                child=child, status=cast(str, draft.status), on=entry.event_date, entry=entry
            )
        if draft.kind == EntryKind.ALLOCATION:
            _allocation_start(
                child=child,
                agency=agency,
                worker=worker,
                team=team,
                on=entry.event_date,
                entry=entry,
            )


@transaction.atomic
def entry_record(
    *,
    actor,
    children: Sequence[Child],
    kind: str,
    event_date: datetime.date,
    summary: str,
    date_precision: str = DatePrecision.DAY,
    event_time: datetime.time | None = None,
    categories: Sequence[str] = (),
    severity: int | None = None,
    child_words: str | None = None,
    action: str | None = None,
    status: str | None = None,
    decision_type: str | None = None,
    decision_outcome: str | None = None,
    decision_notes: str | None = None,
    agencies_present: Sequence[Agency] = (),
    scores: dict | None = None,
    adults: Sequence[Adult] = (),
    agency: Agency | None = None,
    worker=None,
    team: str = "",
    import_batch: ImportBatch | None = None,
    source_ref: str = "",
    extra: dict | None = None,
    acknowledged_on=UNSET,
    audit_action: str = "entry.record",
) -> Entry:
    """Append an entry to the chronology of each of `children`.

    A status entry also opens or ends the children's status periods, and an
    allocation entry starts a new allocation. A notification may carry the date
    it was acknowledged. `agency` defaults to the actor's; only service accounts
    record on behalf of another agency (imports).
    """
    draft = EntryDraft(
        children=children,
        kind=kind,
        event_date=event_date,
        summary=summary,
        agency=agency,
        date_precision=date_precision,
        event_time=event_time,
        categories=categories,
        severity=severity,
        child_words=child_words,
        action=action,
        status=status,
        decision_type=decision_type,
        decision_outcome=decision_outcome,
        decision_notes=decision_notes,
        agencies_present=agencies_present,
        scores=scores,
        adults=adults,
        source_ref=source_ref,
        extra=extra,
        acknowledged_on=acknowledged_on,
    )
    agency = _entry_check(actor, draft)
    for child in children:
        _require_write_access(actor, child)

    entry = _entry_row(actor, draft, agency, import_batch)
    entry.save(force_insert=True)
    child_rows, category_rows, adult_rows, present, acks = _entry_links(actor, entry, draft)
    EntryChild.objects.bulk_create(child_rows)
    EntryCategory.objects.bulk_create(category_rows)
    _entry_known_as_written(entry, category_rows)
    EntryAdult.objects.bulk_create(adult_rows)
    DecisionAttendance.objects.bulk_create(present)
    NotificationAck.objects.bulk_create(acks)
    _entry_periods(entry, draft, agency, worker, team)
    # One audit row per child, written in one statement.
    audit_record_each(
        actor=actor,
        action=audit_action,
        children=children,
        obj=entry,
        details={"kind": kind, "agency": agency.code},
    )
    # Escalation re-reads the children after this commits; it marks them in this
    # transaction (chronology.signals) so that a lost queue message loses nothing.
    children_changed.send(sender=Entry, child_ids=[child.pk for child in children])
    return entry


def entries_check(*, actor, drafts: Sequence[EntryDraft]) -> None:
    """Check every draft against entry_record's rules that need no query, reading
    and writing nothing: an importer checks a whole file before its first batch.
    Raises EntryDraftRefused for the first draft that breaks one."""
    for index, draft in enumerate(drafts):
        try:
            _entry_check(actor, draft)
        except (ValidationError, PermissionDenied) as error:
            raise EntryDraftRefused(index, error) from error


@transaction.atomic
def entries_record_bulk(
    *,
    actor,
    drafts: Sequence[EntryDraft],
    import_batch: ImportBatch,
    audit_details: dict | None = None,
) -> list[Entry]:
    """Append many entries, as entry_record would one by one, in one transaction and
    a handful of statements: for imports.

    Guarantees: every draft passes entry_record's rules (EntryDraftRefused names the
    first that does not, and nothing is saved); the actor may write about every
    child named; each entry carries `import_batch` and its draft's source ref and
    row; status periods and allocations follow the drafts in their order (give them
    in date order). Audited by ONE "import.batch" row for the whole call (the batch,
    the number of entries and children, and `audit_details`), and the children are
    announced once (chronology.signals.children_changed), so escalation marks and
    queues each child once however many of its entries the call holds."""
    agencies = []
    for index, draft in enumerate(drafts):
        try:
            agencies.append(_entry_check(actor, draft))
        except (ValidationError, PermissionDenied) as error:
            raise EntryDraftRefused(index, error) from error
    first_naming: dict[int, tuple[int, Child]] = {}
    for index, draft in enumerate(drafts):
        for child in draft.children:
            first_naming.setdefault(child.pk, (index, child))
    for index, child in first_naming.values():
        try:
            _require_write_access(actor, child)
        except PermissionDenied as error:
            raise EntryDraftRefused(index, error) from error

    entries = Entry.objects.bulk_create(
        [
            _entry_row(actor, draft, agency, import_batch)
            for draft, agency in zip(drafts, agencies, strict=True)
        ]
    )
    links: list[list] = [[], [], [], [], []]
    for entry, draft in zip(entries, drafts, strict=True):
        for rows, more in zip(links, _entry_links(actor, entry, draft), strict=True):
            rows.extend(more)
    for model, rows in zip(
        (EntryChild, EntryCategory, EntryAdult, DecisionAttendance, NotificationAck),
        links,
        strict=True,
    ):
        if rows:
            model.objects.bulk_create(rows)
    for entry, draft, agency in zip(entries, drafts, agencies, strict=True):
        if draft.kind in (EntryKind.STATUS, EntryKind.ALLOCATION):
            _entry_periods(entry, draft, agency, None, "")
    audit_record(
        actor=actor,
        action="import.batch",
        obj=import_batch,
        details={
            "entries": len(entries),
            "children": len(first_naming),
            **(audit_details or {}),
        },
    )
    if first_naming:
        children_changed.send(sender=Entry, child_ids=sorted(first_naming))
    return entries


# What a client may use as a request key: a UUID, or any token of this alphabet.
REQUEST_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


class RequestKeyReused(Exception):
    """A request key already recorded a different entry for this actor."""


def entry_record_once(
    *, actor, request_key: str, children: Sequence[Child], **fields
) -> tuple[Entry, bool]:
    """entry_record, at most once for each (actor, request key): returns the entry and
    whether this call recorded it. The same request again returns the entry the
    first one recorded, unchanged, and is audited as a repeat (`entry.repeat`).

    The key is written in the entry's own transaction: if the first request failed,
    nothing holds the key and it can be sent again; if it committed, the key is
    there even when its answer never reached the client (a 503 after the commit,
    a timeout). Two requests with one key at once record one entry: the second
    waits on the key's unique index, then reads the first's. Raises ValidationError
    for a malformed key and RequestKeyReused for a key that recorded something else."""
    if not REQUEST_KEY.fullmatch(request_key):
        raise ValidationError(
            {"request_key": "A request key is 1 to 100 letters, digits, '-', '_', '.' or ':'."}
        )
    digest = _request_digest(children, fields)
    try:
        with transaction.atomic():
            earlier = _entry_request(actor, request_key)
            if earlier is None:
                entry = entry_record(actor=actor, children=children, **fields)
                EntryRequest.objects.create(
                    actor=actor, key=request_key, digest=digest, entry=entry
                )
                return entry, True
    except IntegrityError:
        earlier = _entry_request(actor, request_key)  # the one that won, now committed
        if earlier is None:
            raise
    if earlier.digest != digest:
        raise RequestKeyReused(request_key)
    # The repeat is answered with the entry, a read of the children's record: audited
    # as such, which also shows who sends things twice.
    with transaction.atomic():
        audit_record_each(
            actor=actor,
            action="entry.repeat",
            children=children,
            obj=earlier.entry,
            details={"request_key": request_key},
        )
    return earlier.entry, False


def _entry_request(actor, key: str) -> EntryRequest | None:
    return EntryRequest.objects.select_related("entry").filter(actor=actor, key=key).first()


def _request_digest(children: Sequence[Child], fields: dict) -> str:
    """A fingerprint of what was asked: the children and every field, in one order."""

    def plain(value):  # model objects by id; dates, times and the rest as text
        if isinstance(value, QuerySet):  # a form's choice of agencies, say
            return sorted(item.pk for item in value)
        return value.pk if hasattr(value, "pk") else str(value)

    asked = {"children": sorted(child.pk for child in children), **fields}
    text = json.dumps(asked, sort_keys=True, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_known_as_written(entry: Entry, category_rows: list[EntryCategory]) -> None:
    """Give a new entry what callers show of it without reading it back: the category
    rows just written (as if prefetched, so `entry.categories` is no query), and that
    it corrects no entry. An entry becomes a correction only when entry_amend links
    it, right after recording it, and that link fills the same cache. (Whether it has
    itself been amended is not cached: that can change while a caller holds it.)"""
    rows = entry.category_rows.get_queryset()
    rows._result_cache = list(category_rows)
    # Django's own prefetch cache, filled by hand: private names the stubs do not declare.
    rows._prefetch_done = True  # type: ignore[attr-defined]
    entry._prefetched_objects_cache = {"category_rows": rows}  # type: ignore[attr-defined]
    Entry._meta.get_field("amends").set_cached_value(entry, None)


def _status_apply(*, child: Child, status: str, on: datetime.date, entry: Entry) -> None:
    """Keep the child's status periods in step with a status entry (see vocabulary)."""
    open_periods = StatusPeriod.objects.filter(child=child, ended_on__isnull=True)
    if status == Status.CLOSED:
        to_end = open_periods
    elif status in ENDING_STATUSES:
        to_end = open_periods.filter(status=ENDING_STATUSES[status])
    else:
        track = PLAN_TRACK if status in PLAN_TRACK else CARE_TRACK
        to_end = open_periods.filter(status__in=track)
    to_end.update(ended_on=on)
    if status != Status.CLOSED and status not in ENDING_STATUSES:
        StatusPeriod.objects.create(child=child, status=status, started_on=on, started_by=entry)


def _allocation_start(*, child, agency, worker, team, on, entry) -> None:
    Allocation.objects.filter(child=child, agency=agency, ended_on__isnull=True).update(ended_on=on)
    if not worker and not team:
        # An imported allocation names its worker or team only in the summary.
        team = entry.summary[:200]
    Allocation.objects.create(
        child=child, agency=agency, worker=worker, team=team, started_on=on, entry=entry
    )


def worker_allocate(
    *, actor, child: Child, worker=None, team: str = "", on: datetime.date | None = None
) -> Entry:
    """Allocate the case to a worker or team, as a chronology entry of kind allocation."""
    holder = (worker.get_full_name() or worker.username) if worker else team
    if not holder:
        raise ValidationError({"worker": "Name a worker or a team."})
    return entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.ALLOCATION,
        event_date=on or timezone.localdate(),
        summary=f"Case allocated to {holder}",
        worker=worker,
        team=team,
    )


def status_change(
    *, actor, child: Child, status: str, on: datetime.date | None = None, summary: str = ""
) -> Entry:
    """Change a child's legal or plan status, as a chronology entry of kind status."""
    label = dict(Status.choices).get(status, status)
    return entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.STATUS,
        status=status,
        event_date=on or timezone.localdate(),
        summary=summary or f"Status: {label}",
    )


# Fields a correction may change. Who recorded it, and for whom, never change.
AMENDABLE_FIELDS = frozenset(
    {
        "event_date",
        "date_precision",
        "event_time",
        "categories",
        "severity",
        "summary",
        "child_words",
        "action",
    }
)


@transaction.atomic
def entry_amend(*, actor, entry: Entry, reason: str, **changes) -> Amendment:
    """Correct an entry. The original stays; a replacement entry carries the
    corrected content and the amendment links the two, with who, when and why."""
    entry = _lock_current(entry)
    _require_amend_rights(actor, entry)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the entry is being corrected."})
    unknown = set(changes) - AMENDABLE_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be amended."})
    if not changes:
        raise ValidationError({"changes": "Nothing was changed."})
    replacement = entry_record(
        actor=actor,
        children=list(entry.children.all()),
        kind=entry.kind,
        event_date=changes.get("event_date", entry.event_date),
        date_precision=changes.get("date_precision", entry.date_precision),
        event_time=changes.get("event_time", entry.event_time),
        categories=changes.get("categories", entry.categories),
        severity=changes.get("severity", entry.severity),
        summary=changes.get("summary", entry.summary),
        child_words=changes.get("child_words", entry.child_words),
        action=changes.get("action", entry.action),
        status=entry.status,
        decision_type=entry.decision_type,
        decision_outcome=entry.decision_outcome,
        decision_notes=entry.decision_notes,
        agencies_present=list(entry.agencies_present.all()),
        scores=entry.scores,
        adults=list(entry.adults.all()),
        agency=entry.agency,
        import_batch=entry.import_batch,
        source_ref=entry.source_ref,
        extra=entry.extra,
        audit_action="entry.amend",
    )
    return Amendment.objects.create(
        entry=entry,
        kind=AmendmentKind.CORRECTION,
        reason=reason,
        replacement=replacement,
        author=actor,
        agency=actor.agency,
    )


@transaction.atomic
def entry_mark_entered_in_error(*, actor, entry: Entry, reason: str) -> Amendment:
    """Mark an entry as entered in error. It stays in the record, shown as such."""
    entry = _lock_current(entry)
    _require_amend_rights(actor, entry)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the entry was entered in error."})
    amendment = Amendment.objects.create(
        entry=entry,
        kind=AmendmentKind.ENTERED_IN_ERROR,
        reason=reason,
        author=actor,
        agency=actor.agency,
    )
    children = list(entry.children.all())
    for child in children:
        audit_record(actor=actor, action="entry.entered_in_error", child=child, obj=entry)
    children_changed.send(sender=Entry, child_ids=[child.pk for child in children])
    return amendment


def _lock_current(entry: Entry) -> Entry:
    # Two simultaneous corrections of one entry queue up here; the second then finds
    # the entry already amended and is refused. An advisory lock, not SELECT ... FOR
    # UPDATE: row locks need the UPDATE privilege, which the app's role does not have
    # on an append-only table (docs/database-roles.md). Nor does it meet the key-share
    # locks of an escalation evaluation whose alert cites the entry.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('chronology.entry_amend'), %s)",
            [entry.pk % 2**31],
        )
    entry = Entry.objects.get(pk=entry.pk)
    if Amendment.objects.filter(entry=entry).exists():
        raise ValidationError(
            {"entry": "This entry has already been amended: amend the current version."}
        )
    return entry


def _require_amend_rights(actor, entry: Entry) -> None:
    for child in entry.children.all():
        _require_write_access(actor, child)
    if entry.agency_id != actor.agency_id and not actor.agency.is_system:
        raise PermissionDenied("Only the agency that recorded an entry can amend it.")


@transaction.atomic
def notification_acknowledge(
    *, actor, entry: Entry, on: datetime.date | None = None
) -> NotificationAck:
    """Record that the receiving agency has seen a notification."""
    if entry.kind != EntryKind.NOTIFICATION:
        raise ValidationError({"entry": "Only a notification can be acknowledged."})
    for child in entry.children.all():
        _require_write_access(actor, child)
    if NotificationAck.objects.filter(entry=entry).exists():
        raise ValidationError({"entry": "This notification has already been acknowledged."})
    ack = NotificationAck.objects.create(
        entry=entry, acknowledged_on=on or timezone.localdate(), acknowledged_by=actor
    )
    children = list(entry.children.all())
    for child in children:
        audit_record(actor=actor, action="notification.acknowledge", child=child, obj=entry)
    children_changed.send(sender=Entry, child_ids=[child.pk for child in children])
    return ack


# --- break-glass: emergency access outside an involvement --------------------------------

BREAK_GLASS_MINUTES = 60
BREAK_GLASS_MIN_REASON = 20


@transaction.atomic
def break_glass_reason_check(*, reason: str) -> None:
    """The reason rule for emergency access: at least BREAK_GLASS_MIN_REASON
    characters. The page asks before it searches, so that no search is made (and
    audited) on a reason that would be refused."""
    if len(reason.strip()) < BREAK_GLASS_MIN_REASON:
        raise ValidationError(
            {"reason": f"Give the reason in at least {BREAK_GLASS_MIN_REASON} characters."}
        )


def break_glass_open(*, actor, child: Child, reason: str) -> BreakGlassAccess:
    """Open a child's record for 60 minutes to someone whose agency is not involved.

    Guarantees: only staff who work with records may; the reason is at least 20
    characters; the access, its reason and its expiry are audited in this
    transaction; the child's lead agency (social care if involved, otherwise the
    longest-involved agency) and the auditors of that agency and the actor's are
    emailed after the commit, in words that name no child."""
    if not actor.reads_records:
        raise PermissionDenied("Your role does not read children's records.")
    break_glass_reason_check(reason=reason)
    if child.restricted:
        # Break-glass never opens a restricted record (the access rule ignores it too).
        raise PermissionDenied("No child found")
    expires_at = timezone.now() + datetime.timedelta(minutes=BREAK_GLASS_MINUTES)
    access = BreakGlassAccess.objects.create(
        user=actor, child=child, reason=reason.strip(), expires_at=expires_at
    )
    audit_record(
        actor=actor,
        action="break_glass.open",
        child=child,
        obj=access,
        details={"reason": access.reason, "expires_at": expires_at.isoformat()},
    )
    involvements = (
        Involvement.objects.active_on(timezone.localdate())
        .filter(child=child)
        .select_related("agency")
        .order_by("started_on")
    )
    lead = next(
        (i.agency for i in involvements if i.agency.kind == AgencyKind.SOCIAL_CARE),
        involvements[0].agency if involvements else None,
    )
    told = User.objects.filter(is_active=True).exclude(email="")
    lead_staff = told.filter(agency=lead, role__in=[Role.MANAGER, Role.SAFEGUARDING_LEAD])
    auditors = told.filter(
        agency_id__in=[actor.agency_id, getattr(lead, "pk", None)], role=Role.AUDITOR
    )
    emails = sorted({u.email for u in lead_staff} | {u.email for u in auditors})
    subject = "Emergency (break-glass) access to a child's record"
    body = (
        f"{actor} of {actor.agency} used emergency access to a child's record that your "
        f"agency holds, until {timezone.localtime(expires_at):%H:%M on %d %B %Y}. "
        f"Reference {access.public_id}. The reason is in the audit log."
    )

    def send():
        for email in emails:
            send_mail(subject, body, None, [email])

    transaction.on_commit(send)
    return access


@transaction.atomic
def legal_hold_place(*, actor, child: Child, reason: str) -> LegalHold:
    """Put a child's records under legal hold: they leave the retention review list."""
    _require_write_access(actor, child)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the records are held."})
    hold, _ = LegalHold.objects.get_or_create(
        child=child, defaults={"reason": reason.strip(), "placed_by": actor}
    )
    audit_record(
        actor=actor, action="legal_hold.place", child=child, obj=hold, details={"reason": reason}
    )
    return hold


# --- restricted records and named access ----------------------------------------------

ACCESS_MIN_REASON = 20


def access_manager_check(actor, child: Child) -> None:
    """Only a manager of an agency involved with the child, who may write about it
    (so, for a restricted child, is named on it), restricts it or names people."""
    if actor.role != Role.MANAGER or not actor.reads_records:
        raise PermissionDenied("Only a manager of an involved agency manages access.")
    involved = (
        Involvement.objects.active_on(timezone.localdate())
        .filter(child=child, agency_id=actor.agency_id)
        .exists()
    )
    if not involved or not child_is_writable_by(user=actor, child=child):
        raise PermissionDenied("Only a manager of an involved agency manages access.")


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < ACCESS_MIN_REASON:
        raise ValidationError(
            {"reason": f"Give the reason in at least {ACCESS_MIN_REASON} characters."}
        )
    return reason


def _locked(child: Child) -> Child:
    # One change to a child's access at a time: restricting and naming race otherwise.
    return Child.objects.select_for_update().get(pk=child.pk)


@transaction.atomic
def child_restrict(*, actor, child: Child, reason: str) -> Child:
    """Mark a child's record restricted: from now on only the users named on it (and
    outsiders with a live grant) see it, even inside involved agencies.

    Guarantees: only a manager of an involved agency may; the reason is at least
    20 characters; the manager is named on it at once (open-ended), so the record
    does not vanish from the person restricting it; audited in this transaction."""
    access_manager_check(actor, child)
    reason = _require_reason(reason)
    locked = _locked(child)
    if locked.restricted:
        raise ValidationError({"restricted": "The record is already restricted."})
    if not _live_grant(child=child, user=actor, kind=AccessGrantKind.NAMED).exists():
        access_grant_create(
            actor=actor,
            child=child,
            user=actor,
            kind=AccessGrantKind.NAMED,
            reason="Restricted the record and so is named on it",
        )
    Child.objects.filter(pk=child.pk).update(restricted=True)
    child.restricted = True
    audit_record(
        actor=actor, action="child.restrict", child=child, obj=child, details={"reason": reason}
    )
    return child


@transaction.atomic
def child_unrestrict(*, actor, child: Child, reason: str) -> Child:
    """Lift a child's restriction: the involved agencies' staff see it again. Named
    grants are kept (they still record who was named). Audited with the reason."""
    access_manager_check(actor, child)
    reason = _require_reason(reason)
    locked = _locked(child)
    if not locked.restricted:
        raise ValidationError({"restricted": "The record is not restricted."})
    Child.objects.filter(pk=child.pk).update(restricted=False)
    child.restricted = False
    audit_record(
        actor=actor, action="child.unrestrict", child=child, obj=child, details={"reason": reason}
    )
    return child


def _live_grant(*, child: Child, user, kind: str):
    today = timezone.localdate()
    return ChildAccessGrant.objects.filter(
        Q(last_day__isnull=True) | Q(last_day__gte=today),
        content_object=child,
        user=user,
        kind=kind,
        revoked_at__isnull=True,
    )


def _view_child_permission() -> Permission:
    # guardian's grant row names the permission it gives. get_or_create: tests that
    # empty every table take Django's permission rows with them.
    return Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Child),
        codename="view_child",
        defaults={"name": "Can view child"},
    )[0]


@transaction.atomic
def access_grant_create(
    *,
    actor,
    child: Child,
    user,
    kind: str,
    reason: str,
    starts_on: datetime.date | None = None,
    last_day: datetime.date | None = None,
) -> ChildAccessGrant:
    """Name `user` on `child`: `named` for a restricted record (the user's agency
    must be involved; open-ended unless given a last day), or `outsider` for view
    access whatever their agency, from `starts_on` (today by default) to `last_day`
    (required) inclusive. It ends by itself after its last day.

    Guarantees: only a manager of an involved agency may; the user must work with
    records; the reason is at least 20 characters; one live grant of a kind per
    user and child; audited in this transaction."""
    access_manager_check(actor, child)
    reason = reason.strip()
    today = timezone.localdate()
    starts_on = starts_on or today
    errors = {}
    if len(reason) < ACCESS_MIN_REASON:
        errors["reason"] = f"Give the reason in at least {ACCESS_MIN_REASON} characters."
    if kind not in AccessGrantKind.values:
        errors["kind"] = "Choose named access or outsider access."
    if not (user.is_active and user.role in RECORD_ROLES and not user.agency.is_system):
        errors["user"] = f"{user} does not work with children's records."
    if starts_on < today:
        errors["starts_on"] = "Access cannot start in the past."
    if kind == AccessGrantKind.OUTSIDER and last_day is None:
        errors["last_day"] = "Give the last day of an outsider's access."
    if last_day is not None and last_day < starts_on:
        errors["last_day"] = "The last day must be on or after the first."
    if kind == AccessGrantKind.NAMED and "user" not in errors:
        involved = Involvement.objects.active_on(today).filter(child=child, agency=user.agency)
        if not involved.exists():
            errors["user"] = (
                f"{user.agency} is not involved with this child: give {user} outsider "
                "access instead."
            )
    if errors:
        raise ValidationError(errors)
    _locked(child)
    if _live_grant(child=child, user=user, kind=kind).exists():
        raise ValidationError({"user": f"{user} already has this access."})
    grant = ChildAccessGrant(
        content_object=child,
        user=user,
        permission=_view_child_permission(),
        kind=kind,
        starts_on=starts_on,
        last_day=last_day,
        reason=reason,
        granted_by=actor,
    )
    grant.save(force_insert=True)
    audit_record(
        actor=actor,
        action="access.grant",
        child=child,
        obj=grant,
        details={
            "user": user.username,
            "kind": kind,
            "starts_on": starts_on.isoformat(),
            "last_day": last_day.isoformat() if last_day else None,
            "reason": reason,
        },
    )
    return grant


@transaction.atomic
def access_grant_revoke(*, actor, grant: ChildAccessGrant, reason: str) -> ChildAccessGrant:
    """End a grant now: the user loses the access on their next request. The row
    stays, with who revoked it, when and why. Audited in this transaction."""
    child = grant.content_object
    access_manager_check(actor, child)
    reason = _require_reason(reason)
    now = timezone.now()
    changed = ChildAccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor, revoke_reason=reason
    )
    if not changed:
        raise ValidationError({"grant": "That access has already been revoked."})
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = now, actor, reason
    audit_record(
        actor=actor,
        action="access.revoke",
        child=child,
        obj=grant,
        details={"user": grant.user.username, "kind": grant.kind, "reason": reason},
    )
    return grant
