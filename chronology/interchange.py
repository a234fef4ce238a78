"""Import and export of the chronology interchange format, version 1 (JSON and CSV).

The format is described in chronology-format.md (shared with the other agencies).

An import is all or nothing. The whole file is read and checked first, and every
problem found (up to MAX_ERRORS) is reported with where it is: "events[12] (ref
E13), categories: unknown category 'neglect.food'" or "line 4, column 'date':
'2013-02-30' is not a date (YYYY-MM-DD)". Only a file with no problem is written,
in one transaction, through the services in chronology.services, so permissions,
status periods, allocations and the audit trail work exactly as for entries
recorded by hand. Any failure raises InterchangeError and leaves the database as
it was.

An export writes the current entries (not superseded, not entered in error)
concerning the given children, and audits the export for each child.
"""

import codecs
import csv
import datetime
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from agencies.models import Agency, AgencyKind
from agencies.services import agency_create

from . import csv_safe, services
from .audit import audit_record, audit_record_each, audit_record_per_child
from .models import (
    Adult,
    Child,
    ChildAdult,
    DecisionAttendance,
    Entry,
    EntryAdult,
    EntryCategory,
    EntryChild,
    ImportBatch,
)
from .selectors import child_is_visible_to, children_with_agency_involved
from .validators import JSON_MAX_DEPTH, json_problems, printable, text_problem
from .vocabulary import (
    Category,
    DatePrecision,
    DecisionOutcome,
    DecisionType,
    EntryKind,
    Sex,
    Status,
)

FORMAT = "chronology-interchange/1"
# Enough to show the shape of what is wrong with a file without drowning the reader.
MAX_ERRORS = 50
MB = 1024 * 1024

CSV_COLUMNS = (
    "date",
    "date_precision",
    "agency",
    "children",
    "kind",
    "categories",
    "severity",
    "summary",
    "child_words",
    "action",
    "status",
)
# An exported CSV is read by people in a spreadsheet, so its header row is in words;
# its cells keep the codes, and the importer reads either header.
CSV_HEADER_WORDS = {
    "date": "Date",
    "date_precision": "Date precision",
    "agency": "Agency",
    "children": "Children",
    "kind": "Kind",
    "categories": "Categories",
    "severity": "Severity",
    "summary": "Summary",
    "child_words": "Child's words",
    "action": "Action",
    "status": "Status",
    "ref": "Ref",
    "time": "Time",
}
CSV_COLUMN_FOR_WORDS = {words.lower(): code for code, words in CSV_HEADER_WORDS.items()}


def _csv_column(name: str) -> str:
    name = name.strip()
    return CSV_COLUMN_FOR_WORDS.get(name.lower(), name)


# Columns a CSV file may add and that the importer understands; any other extra
# column is kept in the entry's `extra`.
CSV_OPTIONAL_COLUMNS = ("ref", "time")

DOCUMENT_LISTS = ("children", "adults", "agencies", "events")
CHILD_KEYS = frozenset({"ref", "name", "date_of_birth", "date_of_birth_precision", "sex", "notes"})
ADULT_KEYS = frozenset({"ref", "name", "relationship", "notes"})
AGENCY_KEYS = frozenset({"ref", "name", "kind"})
EVENT_KEYS = frozenset(
    {
        "ref",
        "date",
        "date_precision",
        "time",
        "agency",
        "children",
        "adults",
        "kind",
        "categories",
        "severity",
        "summary",
        "child_words",
        "action",
        "status",
        "decision",
        "scores",
        "acknowledged",
    }
)

_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_PATTERN = re.compile(r"\d{2}:\d{2}")
# The length limits of the columns the values end up in.
REF_MAX = 50
NAME_MAX = 200
RELATIONSHIP_MAX = 50
FILE_NAME_MAX = 255


class InterchangeError(Exception):
    """A file that cannot be imported (or children that cannot be exported).

    `messages` lists every problem found, each naming where it is.
    """

    def __init__(self, messages: Iterable[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


class ImportRefused(InterchangeError):
    """A file naming existing children that the importing agency does not work with.

    The messages are those for a ref nobody has (see `_UNKNOWN_CHILD`), so that a
    refusal tells the importer nothing about the child; `refs` are the refs refused,
    for the audit trail only."""

    def __init__(self, messages: Iterable[str], *, refs: Iterable[str]):
        super().__init__(messages)
        self.refs = sorted(set(refs))


# One message for a child ref that nobody has and for one the importing agency does
# not work with, so that an import cannot be used to find out who is on the system.
_UNKNOWN_CHILD = "no child your agency works with has ref '{ref}'"
# A JSON document creates the children it names that do not exist; a ref held by a
# child the agency does not work with cannot be created again, nor used. The answer
# is the same whatever name and date of birth the document gives.
_REF_NOT_YOURS = (
    "no child your agency works with has ref '{ref}', and a new child cannot be given "
    "it; use another ref"
)


@dataclass
class ImportResult:
    batch: ImportBatch
    children: dict[str, Child]  # the document's child ref -> the child it was written to
    entries: int


# --- collecting problems ---------------------------------------------------------------


class _Problems:
    """Collects the problems with a file, keeping the first MAX_ERRORS of them."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.count = 0
        # Refs of existing children the importing agency does not work with.
        self.refused: set[str] = set()

    def add(self, place: str, message: str) -> None:
        self.count += 1
        if len(self.messages) < MAX_ERRORS:
            self.messages.append(f"{place}: {message}" if place else message)

    def raise_if_any(self) -> None:
        if not self.count:
            return
        messages = list(self.messages)
        if self.count > MAX_ERRORS:
            messages.append(f"... and {self.count - MAX_ERRORS} more problems not shown")
        if self.refused:
            raise ImportRefused(messages, refs=self.refused)
        raise InterchangeError(messages)


class _Bad(Exception):
    """One value that cannot be used; the message says why, the caller says where."""


class _Fields:
    """Reads the values of one record, reporting each bad one with its place.

    `place_of(field)` gives the place to name for a problem in `field`, e.g.
    "events[3] (ref E4), date" or "line 5, column 'date'".
    """

    def __init__(self, problems: _Problems, place_of: Callable[[str], str]):
        self.problems = problems
        self.place_of = place_of
        self.ok = True

    def read(self, name: str, parse: Callable[[Any], Any], value: Any) -> Any:
        try:
            return parse(value)
        except _Bad as exc:
            self.bad(name, str(exc))
            return None

    def bad(self, name: str, message: str) -> None:
        self.ok = False
        self.problems.add(self.place_of(name), message)


# --- parsing single values (each raises _Bad with a message for the reader) -------------


def _show(value: Any) -> str:
    """A value as the reader of an error message would recognise it from the file."""
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _text(value: Any, *, required: bool = False, max_length: int | None = None) -> str | None:
    if value is None or (required and isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad("is required")
        return None
    if not isinstance(value, str):
        raise _Bad(f"must be text, not {_show(value)}")
    if max_length is not None and len(value) > max_length:
        raise _Bad(f"is {len(value)} characters long; the most allowed is {max_length}")
    return value


def _ref(value: Any) -> str:
    return _text(value, required=True, max_length=REF_MAX)


def _date(value: Any, *, required: bool = True) -> datetime.date | None:
    if value is None:
        if required:
            raise _Bad("is required (YYYY-MM-DD)")
        return None
    # fromisoformat alone would also take "20130215" and week dates; the format says YYYY-MM-DD.
    if not isinstance(value, str) or not _DATE_PATTERN.fullmatch(value):
        raise _Bad(f"{_show(value)} is not a date (YYYY-MM-DD)")
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{_show(value)} is not a date (YYYY-MM-DD)") from None
    # The services' one date rule, so a file cannot carry a date the API refuses.
    problem = services.date_problem(day=day)
    if problem:
        raise _Bad(f"{_show(value)}: {problem}")
    return day


def _time(value: Any) -> datetime.time | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TIME_PATTERN.fullmatch(value):
        raise _Bad(f"{_show(value)} is not a time (HH:MM)")
    try:
        return datetime.time.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{_show(value)} is not a time (HH:MM)") from None


def _choice(choices, what: str, *, default: str | None = None) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        if value is None:
            return default
        if value not in choices.values:
            raise _Bad(f"unknown {what} {_show(value)} (one of: {', '.join(choices.values)})")
        return value

    return parse


def _grade(value: Any, what: str) -> int:
    # bool is an int in Python, but `true` is not a grade.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise _Bad(f"{what} {_show(value)} is not a whole number from 1 to 5")
    return value


def _list_of_text(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Bad(f"must be a list of {what}, not {_show(value)}")
    duplicates = sorted({item for item in value if value.count(item) > 1})
    if duplicates:
        raise _Bad(f"'{duplicates[0]}' is listed twice")
    return list(value)


def _check_precision(date: datetime.date | None, precision: str | None, fields: _Fields, name):
    """A month- or year-precise date is the first day of that month or year (the format says)."""
    if date is None or precision is None:
        return
    if precision == DatePrecision.MONTH and date.day != 1:
        fields.bad(
            name, f"with precision 'month' the date is the 1st ({date:%Y-%m}-01), not {date}"
        )
    if precision == DatePrecision.YEAR and (date.month, date.day) != (1, 1):
        fields.bad(
            name, f"with precision 'year' the date is 1 January ({date:%Y}-01-01), not {date}"
        )


def _split_name(name: str) -> tuple[str, str]:
    """Given names are everything before the last space, the family name the last
    word; a single word is a given name. Export joins them with a space."""
    given, _, family = name.strip().rpartition(" ")
    return (given, family) if given else (family, "")


# --- what a checked file says, ready to write ---------------------------------------------


@dataclass
class _ChildPlan:
    ref: str
    existing: Child | None = None
    given_names: str = ""
    family_name: str = ""
    date_of_birth: datetime.date | None = None
    date_of_birth_precision: str = DatePrecision.DAY
    sex: str | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class _AdultPlan:
    ref: str
    name: str
    relationship: str
    notes: str
    extra: dict


@dataclass
class _AgencyPlan:
    ref: str
    existing: Agency | None = None
    name: str = ""
    kind: str = ""


@dataclass
class _EventPlan:
    position: int  # order in the file, which breaks ties between events of one date
    place: str  # where the event is in the file, for messages
    ref: str
    date: datetime.date
    date_precision: str
    time: datetime.time | None
    agency: str
    children: list[str]
    adults: list[str]
    kind: str
    categories: list[str]
    severity: int | None
    summary: str
    child_words: str | None
    action: str | None
    status: str | None
    decision_type: str | None
    decision_outcome: str | None
    decision_notes: str | None
    decision_agencies: list[str]
    scores: dict | None
    acknowledged: Any  # services.UNSET (not a notification), None (never) or a date
    extra: dict


@dataclass
class _Plan:
    title: str
    meta: dict
    children: list[_ChildPlan]
    adults: list[_AdultPlan]
    agencies: list[_AgencyPlan]
    events: list[_EventPlan]
    make_household: bool


@dataclass
class _KnownRefs:
    """The refs an event may use, and how to say that one is missing."""

    children: set[str]
    adults: set[str]
    agencies: set[str]
    csv: bool = False

    def missing(self, what: str, ref: str) -> str:
        if self.csv and what == "child":
            return _UNKNOWN_CHILD.format(ref=ref)
        if self.csv:
            return f"no {what} has {'code' if what == 'agency' else 'ref'} '{ref}'"
        plural = {"child": "children", "adult": "adults", "agency": "agencies"}[what]
        return f"'{ref}' is not one of the document's {plural}"


# --- reading one event (shared by JSON and CSV) -------------------------------------------


def _read_event(
    values: dict,
    *,
    position: int,
    place: str,
    place_of: Callable[[str], str],
    known: _KnownRefs,
    problems: _Problems,
    extra: dict,
) -> _EventPlan | None:
    """Check one event's values; report every problem and return None if there was one."""
    fields = _Fields(problems, place_of)
    ref = fields.read("ref", lambda v: _text(v, max_length=REF_MAX), values.get("ref")) or ""
    date = fields.read("date", _date, values.get("date"))
    precision = fields.read(
        "date_precision",
        _choice(DatePrecision, "date precision", default=DatePrecision.DAY),
        values.get("date_precision"),
    )
    _check_precision(date, precision, fields, "date")
    time = fields.read("time", _time, values.get("time"))
    kind = fields.read("kind", _choice(EntryKind, "event kind"), values.get("kind"))
    if kind is None and values.get("kind") is None:
        fields.bad("kind", "is required")

    agency = fields.read("agency", _ref, values.get("agency"))
    if agency is not None and agency not in known.agencies:
        fields.bad("agency", known.missing("agency", agency))
    children = fields.read(
        "children", lambda v: _list_of_text(v, "child refs"), values.get("children")
    )
    if children is not None:
        if not children:
            fields.bad("children", "name at least one child")
        for ref_ in children:
            if ref_ not in known.children:
                fields.bad("children", known.missing("child", ref_))
    adults = fields.read("adults", lambda v: _list_of_text(v, "adult refs"), values.get("adults"))
    for ref_ in adults or []:
        if ref_ not in known.adults:
            fields.bad("adults", known.missing("adult", ref_))

    categories = fields.read(
        "categories", lambda v: _list_of_text(v, "categories"), values.get("categories")
    )
    for category in categories or []:
        if category not in Category.values:
            fields.bad("categories", f"unknown category '{category}'")
    severity = values.get("severity")
    if severity is not None:
        severity = fields.read("severity", lambda v: _grade(v, "severity"), severity)
    summary = fields.read("summary", lambda v: _text(v, required=True), values.get("summary"))
    child_words = fields.read("child_words", _text, values.get("child_words"))
    action = fields.read("action", _text, values.get("action"))

    status = fields.read("status", _choice(Status, "status"), values.get("status"))
    if kind == EntryKind.STATUS and status is None and values.get("status") is None:
        fields.bad("status", "a status event needs a status")
    if kind not in (None, EntryKind.STATUS) and values.get("status") is not None:
        fields.bad("status", "only a status event carries a status")

    decision = _read_decision(values.get("decision"), kind, fields, known)

    scores = values.get("scores")
    if scores is not None:
        if not isinstance(scores, dict):
            fields.bad("scores", f"must be an object of domain: score, not {_show(scores)}")
            scores = None
        else:
            for domain, grade in scores.items():
                fields.read(f"scores.{domain}", lambda v: _grade(v, "score"), grade)

    acknowledged: Any = services.UNSET
    if kind == EntryKind.NOTIFICATION:
        if "acknowledged" not in values:
            # The format: absent means acknowledged on the day it was sent.
            acknowledged = date
        else:
            acknowledged = fields.read(
                "acknowledged", lambda v: _date(v, required=False), values["acknowledged"]
            )
            if acknowledged is not None and date is not None and acknowledged < date:
                fields.bad("acknowledged", f"{acknowledged} is before the event date {date}")
    elif kind is not None and values.get("acknowledged") is not None:
        fields.bad("acknowledged", "only a notification can be acknowledged")

    if not fields.ok:
        return None
    return _EventPlan(
        position=position,
        place=place,
        ref=ref,
        date=date,
        date_precision=precision,
        time=time,
        agency=agency,
        children=children,
        adults=adults,
        kind=kind,
        categories=categories,
        severity=severity,
        summary=summary,
        child_words=child_words,
        action=action,
        status=status,
        scores=scores,
        acknowledged=acknowledged,
        extra=extra,
        **decision,
    )


def _read_decision(value: Any, kind: str | None, fields: _Fields, known: _KnownRefs) -> dict:
    """The decision fields of an event; keys of the decision object other than type,
    agencies, outcome and notes are ignored."""
    empty = {
        "decision_type": None,
        "decision_outcome": None,
        "decision_notes": None,
        "decision_agencies": [],
    }
    if kind != EntryKind.DECISION:
        if kind is not None and value is not None:
            fields.bad("decision", "only a decision event carries a decision")
        return empty
    if known.csv:
        fields.bad("kind", "a decision cannot be imported from CSV, which has no decision columns")
        return empty
    if not isinstance(value, dict):
        fields.bad("decision", "a decision event needs a decision object with a type")
        return empty
    decision_type = fields.read(
        "decision.type", _choice(DecisionType, "decision type"), value.get("type")
    )
    if value.get("type") is None:
        fields.bad("decision.type", "is required")
    agencies = fields.read(
        "decision.agencies", lambda v: _list_of_text(v, "agency refs"), value.get("agencies")
    )
    for ref in agencies or []:
        if ref not in known.agencies:
            fields.bad("decision.agencies", known.missing("agency", ref))
    return {
        "decision_type": decision_type,
        "decision_outcome": fields.read(
            "decision.outcome", _choice(DecisionOutcome, "decision outcome"), value.get("outcome")
        ),
        "decision_notes": fields.read("decision.notes", _text, value.get("notes")),
        "decision_agencies": agencies or [],
    }


# --- reading a JSON document ------------------------------------------------------------


def _json_place(path: list) -> str:
    """Where a value is in a document: "children[0], name", "events[2], decision.notes"."""
    place = ""
    for part in path:
        if isinstance(part, int):
            place += f"[{part}]"
        elif not place:
            place = str(part)
        else:
            place += f".{part}" if not place.endswith("]") else f", {part}"
    return place or "the document"


def _parse_json(text: str) -> dict:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InterchangeError(
            [f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
        ) from None
    except RecursionError:
        raise InterchangeError(
            [f"the file nests more than {JSON_MAX_DEPTH} levels deep; the format needs 4"]
        ) from None
    # Before anything else reads it: text that cannot be stored, or a value nested
    # too deeply, is reported alone, without echoing values that cannot be shown.
    problems = _Problems()
    for path, message in json_problems(document):
        problems.add(_json_place(path), message)
    problems.raise_if_any()
    if not isinstance(document, dict):
        raise InterchangeError(["the document must be a JSON object ({...}) at the top level"])
    if document.get("format") != FORMAT:
        found = _show(document["format"]) if "format" in document else "missing"
        raise InterchangeError([f"format is {found}; this importer reads '{FORMAT}'"])
    return document


def _records(document: dict, name: str, problems: _Problems) -> list[tuple[int, dict]]:
    """The objects of one top-level list, with their index; problems for anything else."""
    value = document.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(name, "must be a list")
        return []
    records = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            records.append((index, item))
        else:
            problems.add(f"{name}[{index}]", "must be an object")
    return records


def _place(name: str, index: int, record: dict) -> str:
    ref = record.get("ref")
    return f"{name}[{index}] (ref {ref})" if isinstance(ref, str) and ref else f"{name}[{index}]"


def _first_uses(
    name: str, records: list[tuple[int, dict]], problems: _Problems
) -> list[tuple[int, dict]]:
    """Report refs defined twice; return the records whose ref is usable and first."""
    seen: dict[str, int] = {}
    usable = []
    for index, record in records:
        ref = record.get("ref")
        if name == "events" and ref is None:
            usable.append((index, record))  # an event need not have a ref
            continue
        try:
            ref = _ref(ref)
        except _Bad as exc:
            problems.add(f"{_place(name, index, record)}, ref", str(exc))
            continue
        if ref in seen:
            problems.add(
                _place(name, index, record),
                f"ref '{ref}' is already used by {name}[{seen[ref]}]",
            )
            continue
        seen[ref] = index
        usable.append((index, record))
    return usable


def _plan_document(document: dict, *, as_agency: Agency, actor) -> _Plan:
    """Check a whole parsed document; raise InterchangeError naming every problem."""
    problems = _Problems()
    agency_records = _first_uses("agencies", _records(document, "agencies", problems), problems)
    child_records = _first_uses("children", _records(document, "children", problems), problems)
    adult_records = _first_uses("adults", _records(document, "adults", problems), problems)
    event_records = _first_uses("events", _records(document, "events", problems), problems)
    if not document.get("children"):
        problems.add("children", "the document names no child")

    agencies = _plan_agencies(agency_records, problems)
    children = _plan_children(child_records, problems, as_agency=as_agency)
    adults = _plan_adults(adult_records, problems)
    # Every ref defined counts as known, even on a record with problems of its own,
    # so that one bad child is reported once and not again at each of its events.
    known = _KnownRefs(
        children={record["ref"] for _, record in child_records},
        adults={record["ref"] for _, record in adult_records},
        agencies={record["ref"] for _, record in agency_records},
    )
    events = []
    for index, record in event_records:
        place = _place("events", index, record)
        event = _read_event(
            record,
            position=index,
            place=place,
            place_of=lambda name, place=place: f"{place}, {name}",
            known=known,
            problems=problems,
            extra={k: v for k, v in record.items() if k not in EVENT_KEYS},
        )
        if event is not None:
            events.append(event)
    _check_actor(events, {a.ref: a for a in agencies}, as_agency, actor, problems)
    problems.raise_if_any()

    title = document.get("title") if isinstance(document.get("title"), str) else ""
    return _Plan(
        title=title,
        meta={k: v for k, v in document.items() if k not in DOCUMENT_LISTS},
        children=children,
        adults=adults,
        agencies=agencies,
        events=events,
        make_household=True,
    )


def _plan_agencies(records: list[tuple[int, dict]], problems: _Problems) -> list[_AgencyPlan]:
    """Document agencies are the system's agencies of the same code; missing ones are
    created from the document's name and kind."""
    existing = Agency.objects.in_bulk([r["ref"] for _, r in records], field_name="code")
    plans = []
    for index, record in records:
        place = _place("agencies", index, record)
        fields = _Fields(problems, lambda name, place=place: f"{place}, {name}")
        ref = record["ref"]
        kind = fields.read("kind", _choice(AgencyKind, "agency kind"), record.get("kind"))
        name = fields.read("name", lambda v: _text(v, max_length=NAME_MAX), record.get("name"))
        agency = existing.get(ref)
        if agency is not None and agency.is_system:
            fields.bad("ref", f"'{ref}' is the system agency, which never holds events")
        if agency is None:
            try:
                validate_slug(ref)
            except ValidationError:
                fields.bad("ref", f"'{ref}' cannot be an agency code (letters, digits, - and _)")
            if not name:
                fields.bad("name", "is required to create the agency")
            if not kind and record.get("kind") is None:
                fields.bad(
                    "kind",
                    f"is required to create the agency (one of: {', '.join(AgencyKind.values)})",
                )
        if fields.ok:
            plans.append(_AgencyPlan(ref=ref, existing=agency, name=name or "", kind=kind or ""))
    return plans


def _plan_children(
    records: list[tuple[int, dict]], problems: _Problems, *, as_agency: Agency
) -> list[_ChildPlan]:
    """A document child is the existing child of the same ref, or a new one.

    An existing child is used only when `as_agency` works with it already (an
    import never grants access); any other existing ref refuses the whole file,
    with the same answer whatever the document says about the child."""
    refs = [r["ref"] for _, r in records]
    existing = Child.objects.in_bulk(refs, field_name="ref")
    ours = set(
        children_with_agency_involved(agency=as_agency)
        .filter(ref__in=refs)
        .values_list("ref", flat=True)
    )
    plans = []
    for index, record in records:
        place = _place("children", index, record)
        fields = _Fields(problems, lambda name, place=place: f"{place}, {name}")
        name = fields.read("name", lambda v: _text(v, required=True), record.get("name"))
        given_names, family_name = _split_name(name) if name else ("", "")
        if max(len(given_names), len(family_name)) > NAME_MAX:
            fields.bad("name", f"a name part is longer than {NAME_MAX} characters")
        date_of_birth = fields.read(
            "date_of_birth", lambda v: _date(v, required=False), record.get("date_of_birth")
        )
        precision = fields.read(
            "date_of_birth_precision",
            _choice(DatePrecision, "date precision", default=DatePrecision.DAY),
            record.get("date_of_birth_precision"),
        )
        _check_precision(date_of_birth, precision, fields, "date_of_birth")
        sex = fields.read("sex", _choice(Sex, "sex"), record.get("sex"))
        notes = fields.read("notes", _text, record.get("notes"))
        child = existing.get(record["ref"])
        if child is not None and child.ref not in ours:
            # Checked before anything about the child is compared, so that nothing
            # about it (its name, its date of birth) decides or shows in the answer.
            problems.refused.add(child.ref)
            problems.add(f"{place}, ref", _REF_NOT_YOURS.format(ref=child.ref))
            continue
        if child is not None and name:
            # Refs are the case's own identifiers; a different name or birth date means
            # the file is about someone else, and merging two children's records would
            # put one child's history in another's chronology.
            if " ".join(name.split()) != " ".join(child.full_name.split()):
                fields.bad(
                    "ref",
                    f"an existing child has ref '{child.ref}' but is named "
                    f"'{child.full_name}', not '{name}'; refusing to merge two children",
                )
            elif date_of_birth and child.date_of_birth and date_of_birth != child.date_of_birth:
                fields.bad(
                    "ref",
                    f"an existing child has ref '{child.ref}' but was born on "
                    f"{child.date_of_birth}, not {date_of_birth}; refusing to merge two children",
                )
        if fields.ok:
            plans.append(
                _ChildPlan(
                    ref=record["ref"],
                    existing=child,
                    given_names=given_names,
                    family_name=family_name,
                    date_of_birth=date_of_birth,
                    date_of_birth_precision=precision,
                    sex=sex,
                    notes=notes or "",
                    extra={k: v for k, v in record.items() if k not in CHILD_KEYS},
                )
            )
    return plans


def _plan_adults(records: list[tuple[int, dict]], problems: _Problems) -> list[_AdultPlan]:
    plans = []
    for index, record in records:
        place = _place("adults", index, record)
        fields = _Fields(problems, lambda name, place=place: f"{place}, {name}")
        name = fields.read(
            "name", lambda v: _text(v, required=True, max_length=NAME_MAX), record.get("name")
        )
        relationship = fields.read(
            "relationship",
            lambda v: _text(v, required=True, max_length=RELATIONSHIP_MAX),
            record.get("relationship"),
        )
        notes = fields.read("notes", _text, record.get("notes"))
        if fields.ok:
            # The ref is kept so that an export gives the adult the same ref back.
            extra = {"ref": record["ref"]}
            extra.update((k, v) for k, v in record.items() if k not in ADULT_KEYS)
            plans.append(_AdultPlan(record["ref"], name, relationship, notes or "", extra))
    return plans


def _check_actor(events, agencies: dict[str, _AgencyPlan], as_agency, actor, problems) -> None:
    """Only a service account records on behalf of other agencies (services.entry_record)."""
    if as_agency.is_system:
        problems.add("", f"cannot import as '{as_agency.code}': it is the system agency")
    if actor.agency.is_system:
        return
    for event in events:
        plan = agencies.get(event.agency)
        code = plan.existing.code if plan and plan.existing else event.agency
        if code != actor.agency.code:
            problems.add(
                f"{event.place}, agency",
                f"'{event.agency}' is not your agency; import the file with a service account",
            )


# --- reading a CSV file -----------------------------------------------------------------


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def _csv_int(value: str) -> Any:
    # Leave anything that is not a whole number as text, for the event reader to refuse.
    value = value.strip()
    if not value:
        return None
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def _csv_rows(text: str, problems: _Problems) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header and the (line number, row) of each non-blank row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = [_csv_column(name) for name in next(reader, [])]
        missing = [name for name in CSV_COLUMNS if name not in header]
        if missing:
            problems.add("line 1", f"the header lacks the column(s) {', '.join(missing)}")
        for name in header:
            if problem := text_problem(name):
                problems.add("line 1", f"the column name '{printable(name)}' {problem}")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            problems.add("line 1", f"the column '{repeated[0]}' appears twice in the header")
        if problems.count:
            return header, []
        next_line = reader.line_num + 1
        for values in reader:
            # A quoted value may span lines; name the line the row starts on.
            line, next_line = next_line, reader.line_num + 1
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                problems.add(
                    f"line {line}",
                    f"has {len(values)} values but the header has {len(header)} columns",
                )
                continue
            unstorable = [
                (name, problem)
                for name, value in zip(header, values, strict=True)
                if (problem := text_problem(value))
            ]
            for name, problem in unstorable:
                problems.add(f"line {line}, column '{printable(name)}'", problem)
            if unstorable:
                continue
            # An export's formula escape comes off, so a file round-trips exactly.
            values = [csv_safe.unescape(value) for value in values]
            rows.append((line, dict(zip(header, values, strict=True))))
    except csv.Error as exc:
        if "field limit" in str(exc):
            # The csv module reads a value of at most csv.field_size_limit() characters.
            problems.add(
                f"line {reader.line_num}",
                f"has a value longer than {csv.field_size_limit()} characters",
            )
        else:
            problems.add(f"line {reader.line_num}", f"is not valid CSV: {exc}")
    return header, rows


def _plan_csv(text: str, *, file_name: str, as_agency: Agency, actor) -> _Plan:
    """Check a whole CSV file; its children and agencies must already exist."""
    problems = _Problems()
    header, rows = _csv_rows(text, problems)
    problems.raise_if_any()
    if not rows:
        raise InterchangeError(["the file has a header but no events"])

    child_refs = {ref for _, row in rows for ref in _split_list(row["children"])}
    agency_codes = {row["agency"].strip() for _, row in rows}
    # Only children the importing agency works with are known: any other ref, taken
    # or not, is answered alike (an import never grants access).
    children = children_with_agency_involved(agency=as_agency).in_bulk(child_refs, field_name="ref")
    problems.refused.update(
        Child.objects.filter(ref__in=child_refs - set(children)).values_list("ref", flat=True)
    )
    agencies = {
        code: agency
        for code, agency in Agency.objects.in_bulk(agency_codes, field_name="code").items()
        if not agency.is_system
    }
    known = _KnownRefs(children=set(children), adults=set(), agencies=set(agencies), csv=True)
    extra_columns = [name for name in header if name not in CSV_COLUMNS + CSV_OPTIONAL_COLUMNS]

    events = []
    for line, row in rows:
        values = {
            "date": row["date"].strip() or None,
            "date_precision": row["date_precision"].strip() or None,
            "agency": row["agency"].strip() or None,
            "children": _split_list(row["children"]),
            "kind": row["kind"].strip() or None,
            "categories": _split_list(row["categories"]),
            "severity": _csv_int(row["severity"]),
            "summary": row["summary"] or None,
            "child_words": row["child_words"] or None,
            "action": row["action"] or None,
            "status": row["status"].strip() or None,
        }
        for name in CSV_OPTIONAL_COLUMNS:
            if name in row:
                values[name] = row[name].strip() or None
        event = _read_event(
            values,
            position=line,
            place=f"line {line}",
            place_of=lambda name, line=line: f"line {line}, column '{name}'",
            known=known,
            problems=problems,
            extra={name: row[name] for name in extra_columns if row[name]},
        )
        if event is not None:
            events.append(event)
    plans = {code: _AgencyPlan(ref=code, existing=agency) for code, agency in agencies.items()}
    _check_actor(events, plans, as_agency, actor, problems)
    problems.raise_if_any()

    used = {ref for event in events for ref in event.children}
    return _Plan(
        title=file_name,
        meta={},
        children=[_ChildPlan(ref=ref, existing=children[ref]) for ref in sorted(used)],
        adults=[],
        agencies=list(plans.values()),
        events=events,
        # CSV children are existing records: their households are already as they should be.
        make_household=False,
    )


# --- importing ----------------------------------------------------------------------------


def size_check(size: int) -> None:
    """Refuse a file larger than settings.IMPORT_MAX_BYTES. Callers holding a file on
    disk call this with its size before reading it."""
    limit = getattr(settings, "IMPORT_MAX_BYTES", 20 * MB)
    if size > limit:
        raise InterchangeError([f"the file is {size / MB:.1f} MB; the limit is {limit / MB:g} MB"])


def _decode(raw: bytes) -> str:
    """The text of a UTF-8 file (a byte-order mark is allowed and dropped)."""
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    body = raw[len(bom) :]
    if not body.strip():
        raise InterchangeError(["the file is empty"])
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InterchangeError(["the file is not UTF-8 (it is UTF-16); save it as UTF-8"])
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + len(bom)
        raise InterchangeError(
            [
                f"the file is not UTF-8: byte 0x{raw[offset]:02x} at byte offset {offset} "
                "cannot be read as UTF-8; save the file as UTF-8"
            ]
        ) from None


def _check_not_imported(sha256: str, *, as_agency: Agency | None = None) -> ImportBatch | None:
    """Refuse a file imported before (by its sha256). A file whose import `as_agency`
    began and did not finish (a worker killed between two batches) is not refused:
    its batch is returned, for the import to resume."""
    earlier = ImportBatch.objects.select_related("imported_by").filter(sha256=sha256).first()
    if earlier is None:
        return None
    if earlier.in_progress and as_agency is not None and earlier.agency_id == as_agency.pk:
        return earlier
    raise InterchangeError(
        [
            f"this file was imported before, as '{earlier.file_name}' on "
            f"{timezone.localtime(earlier.created_at):%Y-%m-%d %H:%M} by "
            f"{earlier.imported_by.username} (import batch {earlier.public_id}); "
            "nothing was imported"
        ]
    )


def _import(
    raw: bytes,
    plan_from_text: Callable[[str], _Plan],
    *,
    file_name: str,
    as_agency: Agency,
    actor,
    requested_by,
    file_format: str,
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    # The size first: a huge file is refused without being decoded or parsed.
    size_check(len(raw))
    text = _decode(raw)
    sha256 = hashlib.sha256(raw).hexdigest()
    # The name comes from the uploader's computer: stored, it must be storable text.
    file_name = printable(file_name)[:FILE_NAME_MAX]
    resumed = _check_not_imported(sha256, as_agency=as_agency)
    try:
        plan = plan_from_text(text)
        # The services' own rules for every event, before the first batch is written:
        # a row that breaks one refuses the file with nothing saved.
        _check_entries(plan, actor=actor)
        with _file_lock(sha256):
            return _write(
                plan,
                resumed=resumed,
                sha256=sha256,
                file_name=file_name,
                as_agency=as_agency,
                actor=actor,
                requested_by=requested_by,
                progress=progress,
            )
    except ImportRefused as exc:
        # Written after the import's transaction has rolled back, in one of its own,
        # so that the attempt stays on record though nothing of the file does.
        _refusal_record(
            exc,
            actor=requested_by or actor,
            as_agency=as_agency,
            file_name=file_name,
            file_format=file_format,
            sha256=sha256,
        )
        raise
    except IntegrityError as exc:
        # Something changed between the checks and the write. The batch's transaction
        # has rolled back; the likeliest cause, the same file imported at the same
        # time, gets its own message.
        _check_not_imported(sha256, as_agency=as_agency)
        raise InterchangeError(
            [f"the database refused the import, so nothing was saved: {exc}"]
        ) from exc


def _refusal_record(exc: ImportRefused, *, actor, as_agency, file_name, file_format, sha256):
    """One `import.refused` audit row for an import naming children the importing
    agency does not work with. Not tied to a child: the refs are in its details."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="import.refused",
            details={
                "as_agency": as_agency.code,
                "file_name": file_name,
                "format": file_format,
                "sha256": sha256,
                "refs": exc.refs,
            },
        )


# --- a dry run, for the preview in the browser -----------------------------------------


@dataclass
class PlannedChild:
    ref: str
    name: str
    new: bool
    entries: int


@dataclass
class PlannedAgency:
    code: str
    name: str
    new: bool
    entries: int


@dataclass
class ImportPreview:
    """What an import of a file would do, or why it would be refused (`errors`,
    each naming its place in the file). Nothing of the file has been written."""

    sha256: str
    file_format: str
    children: list[PlannedChild] = field(default_factory=list)
    agencies: list[PlannedAgency] = field(default_factory=list)
    adults: int = 0
    entries: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        """For storing with an import job (codes and counts; no file content)."""
        return {
            "children": [vars(c) for c in self.children],
            "agencies": [vars(a) for a in self.agencies],
            "adults": self.adults,
            "entries": self.entries,
            "errors": self.errors,
        }


def _planner(file_format: str, *, file_name: str, as_agency: Agency, actor):
    if file_format == "csv":
        return lambda text: _plan_csv(
            text, file_name=printable(file_name), as_agency=as_agency, actor=actor
        )
    return lambda text: _plan_document(_parse_json(text), as_agency=as_agency, actor=actor)


def _check_events_of(plan: _Plan, agency: Agency) -> None:
    """Refuse events of any agency but `agency`, naming each one's place: a person
    imports only their own agency's events (as through the API, where
    require_single_agency applies the same rule before the file is planned)."""
    problems = _Problems()
    for event in plan.events:
        if event.agency != agency.code:
            problems.add(
                f"{event.place}, agency",
                f"'{event.agency}' is not your agency ({agency.code}); you import only "
                "your own agency's events",
            )
    problems.raise_if_any()


def import_preview(
    raw: bytes,
    *,
    file_name: str,
    file_format: str,
    as_agency: Agency,
    actor,
    requested_by=None,
    only_agency: Agency | None = None,
) -> ImportPreview:
    """A dry run of import_document / import_csv: every check they make before
    writing, by the same code, and nothing written.

    Guarantees: the preview's errors are the messages the import itself would give
    (each naming its row or place); with none, the children (new or existing, with
    their number of entries), agencies and entries it would write. With
    `only_agency`, events of any other agency are errors too. A file naming an
    existing child the agency does not work with is audited as "import.refused",
    as the import would be; otherwise nothing is audited or saved."""
    sha256 = hashlib.sha256(raw).hexdigest()
    file_name = printable(file_name)[:FILE_NAME_MAX]
    preview = ImportPreview(sha256=sha256, file_format=file_format)
    try:
        size_check(len(raw))
        text = _decode(raw)
        _check_not_imported(sha256, as_agency=as_agency)
        plan = _planner(file_format, file_name=file_name, as_agency=as_agency, actor=actor)(text)
        if only_agency is not None:
            _check_events_of(plan, only_agency)
        _check_entries(plan, actor=actor)
    except ImportRefused as exc:
        _refusal_record(
            exc,
            actor=requested_by or actor,
            as_agency=as_agency,
            file_name=file_name,
            file_format=file_format,
            sha256=sha256,
        )
        preview.errors = exc.messages
        return preview
    except InterchangeError as exc:
        preview.errors = exc.messages
        return preview

    per_child = {c.ref: 0 for c in plan.children}
    per_agency = {a.ref: 0 for a in plan.agencies}
    for event in plan.events:
        per_agency[event.agency] = per_agency.get(event.agency, 0) + 1
        for ref in event.children:
            per_child[ref] = per_child.get(ref, 0) + 1
    preview.children = [
        PlannedChild(
            ref=c.ref,
            name=c.existing.full_name if c.existing else f"{c.given_names} {c.family_name}".strip(),
            new=c.existing is None,
            entries=per_child[c.ref],
        )
        for c in plan.children
    ]
    preview.agencies = [
        PlannedAgency(
            code=a.ref,
            name=a.existing.name if a.existing else a.name,
            new=a.existing is None,
            entries=per_agency[a.ref],
        )
        for a in plan.agencies
        if per_agency[a.ref] or a.existing is None
    ]
    preview.adults = len(plan.adults)
    preview.entries = len(plan.events)
    return preview


def import_document(
    raw: bytes,
    *,
    file_name: str,
    as_agency: Agency,
    actor,
    requested_by=None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import one interchange JSON document, all or nothing.

    Guarantees: the file is at most settings.IMPORT_MAX_BYTES (checked before it is
    parsed), UTF-8, not imported before (by sha256) and entirely valid, or
    InterchangeError lists what is wrong and nothing is saved. Otherwise one
    ImportBatch, the document's agencies and children (matched by code and ref,
    created when missing), its adults, involvements for `as_agency` and each agency
    with events on the children it creates, and every event are written in one
    transaction, audited as by the services plus one "import" audit row per child
    (and one "import.request" row per child for `requested_by`, the person who
    asked, when the actor is a service account acting for them).

    An import never grants access to an existing child: one is used only when
    `as_agency` works with it already (and its name and birth date match), and no
    involvement is ever added to it. A file naming any other existing child is
    refused whole (ImportRefused), answered as for a ref nobody has, and audited
    as "import.refused" in a transaction of its own.
    `progress(done, total)` is called after each batch commits.
    """
    return _import(
        raw,
        _planner("json", file_name=file_name, as_agency=as_agency, actor=actor),
        file_name=file_name,
        as_agency=as_agency,
        actor=actor,
        requested_by=requested_by,
        file_format="json",
        progress=progress,
    )


def import_csv(
    raw: bytes,
    *,
    file_name: str,
    as_agency: Agency,
    actor,
    requested_by=None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import a CSV chronology (one event a row), all or nothing.

    As import_document, except that children and agencies are not created: each is
    matched by ref / code among existing records (children among those `as_agency`
    works with), and an unknown one is an error naming its line. Every error names
    the line and column.
    """
    return _import(
        raw,
        _planner("csv", file_name=file_name, as_agency=as_agency, actor=actor),
        file_name=file_name,
        as_agency=as_agency,
        actor=actor,
        requested_by=requested_by,
        file_format="csv",
        progress=progress,
    )


def _batch_size() -> int:
    return max(1, int(getattr(settings, "IMPORT_BATCH_SIZE", 1000)))


def _batches(events: list[_EventPlan], size: int) -> list[list[_EventPlan]]:
    """The file's events cut into batches of at most `size`, each written and
    committed on its own.

    Events that share a child stay together (children named on one event are one
    group), so that a child's entries land in one batch and the child is evaluated
    once, after it; only a group larger than `size` spans batches, one after another
    in date order. Each batch is in date order, the file's order breaking ties, so
    that status periods and allocations open and close correctly. Decided by the
    file alone (refs, dates, positions), so a resumed import cuts it the same way."""
    parent: dict[str, str] = {}

    def root(ref: str) -> str:
        while parent.setdefault(ref, ref) != ref:
            parent[ref] = parent[parent[ref]]
            ref = parent[ref]
        return ref

    for event in events:
        first = root(event.children[0])
        for ref in event.children[1:]:
            parent[root(ref)] = first
    groups: dict[str, list[_EventPlan]] = {}
    for event in sorted(events, key=lambda e: e.position):
        groups.setdefault(root(event.children[0]), []).append(event)

    batches: list[list[_EventPlan]] = [[]]
    for group in groups.values():
        group.sort(key=lambda e: (e.date, e.position))
        if batches[-1] and len(batches[-1]) + len(group) > size:
            batches.append([])
        for event in group:
            if len(batches[-1]) >= size:
                batches.append([])
            batches[-1].append(event)
    for batch in batches:
        batch.sort(key=lambda e: (e.date, e.position))
    return batches


def _check_entries(plan: _Plan, *, actor) -> None:
    """entry_record's rules for every event of the file, by the services' own check
    (services.entries_check), reading and writing nothing. The children and
    agencies a document would create do not exist yet: stand-ins take their place,
    which the rules need only to count."""
    agencies = {
        a.ref: a.existing or Agency(code=a.ref, name=a.name, kind=a.kind) for a in plan.agencies
    }
    stand_in, stand_in_adult = Child(), Adult()
    drafts = [
        _draft(
            event,
            children=[stand_in] * len(event.children),
            agencies=agencies,
            adults=dict.fromkeys((a.ref for a in plan.adults), stand_in_adult),
        )
        for event in plan.events
    ]
    try:
        services.entries_check(actor=actor, drafts=drafts)
    except services.EntryDraftRefused as exc:
        _service_refusal(plan.events[exc.index].place, exc.error)


def _draft(event: _EventPlan, *, children, agencies, adults) -> services.EntryDraft:
    return services.EntryDraft(
        children=children,
        kind=event.kind,
        event_date=event.date,
        summary=event.summary,
        agency=agencies[event.agency],
        date_precision=event.date_precision,
        event_time=event.time,
        categories=event.categories,
        severity=event.severity,
        child_words=event.child_words,
        action=event.action,
        status=event.status,
        decision_type=event.decision_type,
        decision_outcome=event.decision_outcome,
        decision_notes=event.decision_notes,
        agencies_present=[agencies[ref] for ref in event.decision_agencies],
        scores=event.scores,
        adults=[adults[ref] for ref in event.adults],
        source_ref=event.ref,
        source_row=event.position,
        extra=event.extra,
        acknowledged_on=event.acknowledged,
    )


# Session-level advisory locks of PostgreSQL: held by the connection, so a process
# that dies lets go of them, and a resumed import can take the file over.
_FILE_LOCK_CLASS = 18_002


@contextmanager
def file_lock(sha256: str):
    """Whether this run holds the file (yielded); one run at a time imports a given
    file. A session's lock: the holder's connection closing, as when its process is
    killed, lets go of it, so a run delivered again can take the file over."""
    key = int(sha256[:7], 16)  # an int4, for pg_try_advisory_lock(int4, int4)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_FILE_LOCK_CLASS, key])
        (locked,) = cursor.fetchone()
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_FILE_LOCK_CLASS, key])


@contextmanager
def _file_lock(sha256: str):
    """file_lock, refusing a second run of the same file (the command run twice at
    once) rather than leaving it to wait."""
    with file_lock(sha256) as locked:
        if not locked:
            raise InterchangeError(
                ["this file is being imported now, by another run; nothing more was imported"]
            )
        yield


def _write(
    plan: _Plan,
    *,
    resumed: ImportBatch | None,
    sha256: str,
    file_name: str,
    as_agency: Agency,
    actor,
    requested_by,
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    """Write a checked plan, a batch at a time (docs/bulk-import.md).

    Each batch is one transaction: its entries through services.entries_record_bulk
    (one audit row for the batch; each child marked and queued once), and the
    batch's number recorded on the ImportBatch, locked, so that a batch committed
    once is skipped by any later run. The first transaction also writes what the
    entries need (the ImportBatch, new agencies, children, household, adults and
    involvements); the last one the per-child "import" audit rows. A file of one
    batch is therefore written all or nothing, as before."""
    batch = resumed
    size = batch.batch_size if batch is not None else _batch_size()
    batches = _batches(plan.events, size)
    total = len(plan.events)
    records: _Records | None = None
    for index, events in enumerate(batches):
        with transaction.atomic():
            if batch is None:
                batch, records = _write_first(
                    plan,
                    sha256=sha256,
                    file_name=file_name,
                    as_agency=as_agency,
                    actor=actor,
                    size=size,
                    batches=len(batches),
                )
            else:
                batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                if batch.batches_done > index:
                    continue  # committed by an earlier run
                if batch.batches_total != len(batches):
                    raise InterchangeError(
                        [f"import batch {batch.public_id} was cut otherwise; nothing was imported"]
                    )
            records = records or _Records.of(batch)
            _write_batch(
                index, events, batch=batch, records=records, as_agency=as_agency, actor=actor
            )
            if index == len(batches) - 1:
                _write_last(
                    plan, batch=batch, records=records, actor=actor, requested_by=requested_by
                )
        if progress is not None:
            progress(sum(len(b) for b in batches[: index + 1]), total)
    assert batch is not None  # noqa: S101 - there is always at least one batch
    records = records or _Records.of(batch)
    return ImportResult(batch=batch, children=records.children, entries=total)


@dataclass
class _Records:
    """What the file's refs were written to."""

    children: dict[str, Child]
    agencies: dict[str, Agency]
    adults: dict[str, Any]

    def ids(self) -> dict:
        return {
            name: {ref: record.pk for ref, record in getattr(self, name).items()}
            for name in ("children", "agencies", "adults")
        }

    @classmethod
    def of(cls, batch: ImportBatch) -> "_Records":
        written = batch.written
        children = Child.objects.in_bulk(written["children"].values())
        agencies = Agency.objects.in_bulk(written["agencies"].values())
        adults = Adult.objects.in_bulk(written["adults"].values())
        return cls(
            children={ref: children[pk] for ref, pk in written["children"].items()},
            agencies={ref: agencies[pk] for ref, pk in written["agencies"].items()},
            adults={ref: adults[pk] for ref, pk in written["adults"].items()},
        )


def _write_first(
    plan: _Plan, *, sha256, file_name, as_agency, actor, size: int, batches: int
) -> tuple[ImportBatch, _Records]:
    """The ImportBatch, and the agencies, children, household, adults and
    involvements the file's entries need. Inside the first batch's transaction."""
    reason = f"Imported from {file_name}"
    _recheck_existing_children(plan, as_agency=as_agency)
    batch = ImportBatch.objects.create(
        agency=as_agency,
        imported_by=actor,
        file_name=file_name,
        sha256=sha256,
        title=plan.title,
        document_meta=plan.meta,
        in_progress=True,
        batch_size=size,
        batches_total=batches,
    )
    agencies = {
        a.ref: a.existing
        or _service(f"agency '{a.ref}'", agency_create, code=a.ref, name=a.name, kind=a.kind)
        for a in plan.agencies
    }
    children: dict[str, Child] = {}
    for c in plan.children:
        children[c.ref] = c.existing or _service(
            f"child '{c.ref}'",
            services.child_create,
            actor=actor,
            ref=c.ref,
            given_names=c.given_names,
            family_name=c.family_name,
            date_of_birth=c.date_of_birth,
            date_of_birth_precision=c.date_of_birth_precision,
            sex=c.sex,
            notes=c.notes,
            extra=c.extra,
            involvement_reason=reason,
        )
    if (
        plan.make_household
        and len(children) >= 2
        and all(child.household_id is None for child in children.values())
    ):
        services.household_create(
            actor=actor, name=_household_name(plan, children), children=list(children.values())
        )
    adults = {}
    for a in plan.adults:
        adult = None  # created with the first child's link, then linked to the others
        for child in children.values():
            link = services.adult_link(
                actor=actor,
                child=child,
                adult=adult,
                relationship=a.relationship,
                name=a.name,
                notes=a.notes,
                extra=a.extra,
            )
            adult = link.adult
        adults[a.ref] = adult

    created = {c.ref for c in plan.children if c.existing is None}
    _grant_involvements(
        plan,
        {ref: child for ref, child in children.items() if ref in created},
        agencies,
        as_agency=as_agency,
        actor=actor,
        reason=reason,
    )
    records = _Records(children=children, agencies=agencies, adults=adults)
    batch.written = records.ids()
    batch.save(update_fields=["written"])
    return batch, records


def _write_batch(
    index: int, events: list[_EventPlan], *, batch: ImportBatch, records: _Records, as_agency, actor
) -> None:
    """One batch's entries, and the batch counted as done, in the caller's transaction."""
    # The access rule again, in this batch's own transaction: an involvement that
    # ended since the file was checked stops the import here.
    refs = {ref for event in events for ref in event.children}
    _recheck_children({ref: records.children[ref] for ref in refs}, as_agency=as_agency)
    drafts = [
        _draft(
            event,
            children=[records.children[ref] for ref in event.children],
            agencies=records.agencies,
            adults=records.adults,
        )
        for event in events
    ]
    try:
        services.entries_record_bulk(
            actor=actor,
            drafts=drafts,
            import_batch=batch,
            audit_details={
                "file_name": batch.file_name,
                "batch": index + 1,
                "of": batch.batches_total,
                "rows": [events[0].position, events[-1].position] if events else [],
            },
        )
    except services.EntryDraftRefused as exc:
        _service_refusal(events[exc.index].place, exc.error)
    batch.batches_done = index + 1
    batch.save(update_fields=["batches_done"])


def _write_last(plan: _Plan, *, batch: ImportBatch, records: _Records, actor, requested_by) -> None:
    """The file's per-child audit rows, and the batch marked finished."""
    per_child = dict.fromkeys(records.children, 0)
    for event in plan.events:
        for ref in event.children:
            per_child[ref] += 1
    audit_record_per_child(
        actor=actor,
        action="import",
        obj=batch,
        details=[
            (
                child,
                {"file_name": batch.file_name, "sha256": batch.sha256, "entries": per_child[ref]},
            )
            for ref, child in records.children.items()
        ],
    )
    if requested_by is not None and requested_by != actor:
        audit_record_each(
            actor=requested_by,
            action="import.request",
            children=records.children.values(),
            obj=batch,
        )
    batch.in_progress = False
    batch.save(update_fields=["in_progress"])


def _recheck_existing_children(plan: _Plan, *, as_agency: Agency) -> None:
    """The plan was checked before the transaction; an involvement that ended in
    between must not let the file through. Locks nothing: an involvement that ends
    during the write ends after it, as if the import had come first."""
    _recheck_children(
        {c.ref: c.existing for c in plan.children if c.existing is not None}, as_agency=as_agency
    )


def _recheck_children(children: dict[str, Child], *, as_agency: Agency) -> None:
    if not children:
        return
    ours = set(
        children_with_agency_involved(agency=as_agency)
        .filter(pk__in=[child.pk for child in children.values()])
        .values_list("pk", flat=True)
    )
    refused = sorted(ref for ref, child in children.items() if child.pk not in ours)
    if refused:
        raise ImportRefused(
            [f"children: {_UNKNOWN_CHILD.format(ref=ref)}" for ref in refused], refs=refused
        )


def _service_refusal(place: str, exc: ValidationError | PermissionDenied):
    """A service's refusal as an InterchangeError naming the record."""
    if isinstance(exc, PermissionDenied):
        raise InterchangeError([f"{place}: not allowed ({exc})"]) from exc
    if hasattr(exc, "error_dict"):
        messages = [
            f"{place}, {name}: {' '.join(texts)}" for name, texts in exc.message_dict.items()
        ]
    else:
        messages = [f"{place}: {' '.join(exc.messages)}"]
    raise InterchangeError(messages) from exc


def _service(place: str, function, **kwargs):
    """Call a service; a refusal becomes an InterchangeError naming the record.

    The checks before writing should leave nothing for a service to refuse; this
    covers what changed in between and rules the checks do not repeat.
    """
    try:
        return function(**kwargs)
    except (ValidationError, PermissionDenied) as exc:
        _service_refusal(place, exc)


def _household_name(plan: _Plan, children: dict[str, Child]) -> str:
    """A label that fits a table cell: the title up to its first bracket or full stop
    ("Case Q (Norfolk SCR, ...). Dates..." gives "Case Q"); the title is kept whole
    in the import batch."""
    title = re.split(r"\s\(|\.\s", plan.title.strip(), maxsplit=1)[0].strip()
    name = title or "Household of " + ", ".join(c.full_name for c in children.values())
    max_length = 80  # a label, not a description (Household.name allows 200)
    return name if len(name) <= max_length else name[: max_length - 1] + "…"


def _grant_involvements(plan, children, agencies, *, as_agency, actor, reason) -> None:
    """Give each agency with events about a child the import created an involvement
    from its first such event, and the importing agency one too (from today when it
    has no events), so that everyone whose history this is can see it. `children`
    holds only the created ones: an existing child's access is never changed here."""
    first: dict[tuple[str, int], tuple[datetime.date, Agency]] = {}
    for event in plan.events:
        agency = agencies[event.agency]
        for ref in event.children:
            key = (ref, agency.pk)
            if key not in first or event.date < first[key][0]:
                first[key] = (event.date, agency)
    for ref, child in children.items():
        starts = {agency.pk: (on, agency) for (r, _), (on, agency) in first.items() if r == ref}
        starts.setdefault(as_agency.pk, (timezone.localdate(), as_agency))
        for started_on, agency in starts.values():
            services.involvement_grant(
                actor=actor, child=child, agency=agency, reason=reason, started_on=started_on
            )


# --- exporting ----------------------------------------------------------------------------


def _exported_entries(children: Sequence[Child]):
    """The current entries about any of `children`, by event date then recording time."""
    about = EntryChild.objects.filter(entry=OuterRef("pk"), child__in=children)
    return (
        Entry.objects.current()
        .filter(Exists(about))
        .select_related("agency", "acknowledgement")
        .prefetch_related(
            Prefetch("category_rows", EntryCategory.objects.order_by("id")),
            Prefetch("child_rows", EntryChild.objects.select_related("child").order_by("id")),
            Prefetch("adult_rows", EntryAdult.objects.select_related("adult").order_by("id")),
            Prefetch(
                "attendance_rows",
                DecisionAttendance.objects.select_related("agency").order_by("id"),
            ),
        )
        .order_by("event_date", "recorded_at", "pk")
    )


def _assign_refs(items: list, original: Callable[[Any], str], prefix: str) -> dict[int, str]:
    """A ref for each item (by pk): its original ref when it has one not taken by an
    earlier item, else the first free prefix+number."""
    refs: dict[int, str] = {}
    taken: set[str] = set()
    for item in items:
        ref = original(item)
        if ref and ref not in taken:
            refs[item.pk] = ref
            taken.add(ref)
    number = 0
    for item in items:
        if item.pk in refs:
            continue
        number += 1
        while f"{prefix}{number}" in taken:
            number += 1
        refs[item.pk] = f"{prefix}{number}"
        taken.add(refs[item.pk])
    return refs


def _check_export_access(actor, children: Sequence[Child]) -> None:
    # Service accounts export for the operator; staff export only what they may read.
    if actor.agency.is_system:
        return
    for child in children:
        if not child_is_visible_to(user=actor, child=child):
            raise PermissionDenied("No child found")


def _export_events(children: Sequence[Child], *, actor, file_format: str):
    """The entries to export, with the refs to use, after checking and auditing."""
    children = list(dict.fromkeys(children))
    if not children:
        raise InterchangeError(["name at least one child to export"])
    _check_export_access(actor, children)
    entries = list(_exported_entries(children))
    child_refs = _assign_refs(children, lambda c: c.ref, "C")
    entry_refs = _assign_refs(entries, lambda e: e.source_ref, "E")
    for child in children:
        audit_record(
            actor=actor,
            action="export",
            child=child,
            details={"format": file_format, "entries": len(entries)},
        )
    return children, entries, child_refs, entry_refs


def _event_children(entry: Entry, child_refs: dict[int, str]) -> list[str]:
    # Only the exported children: the others are not in the document.
    return [
        child_refs[row.child_id] for row in entry.child_rows.all() if row.child_id in child_refs
    ]


@transaction.atomic
def export_document(children: list[Child], *, actor) -> dict:
    """The interchange JSON document (as a dict) of the current entries about `children`.

    Guarantees: every field the importer stores is written back, with the refs of the
    original file where they were kept, and kept unknown keys re-emitted, so that
    importing a document and exporting its children gives the same events. A staff
    actor may export only children their agency can read (PermissionDenied
    otherwise); each child's export is audited.
    """
    children, entries, child_refs, entry_refs = _export_events(
        children, actor=actor, file_format="json"
    )

    # Adults: those linked to the exported children, then any others on the events.
    links = list(
        ChildAdult.objects.filter(child__in=children)
        .select_related("adult")
        .order_by("adult_id", "id")
    )
    adults = {link.adult.pk: link.adult for link in links}
    for entry in entries:
        for row in entry.adult_rows.all():
            adults.setdefault(row.adult.pk, row.adult)
    relationship = {link.adult_id: link.relationship for link in reversed(links)}
    missing = [pk for pk in adults if pk not in relationship]
    for link in ChildAdult.objects.filter(adult_id__in=missing).order_by("-id"):
        relationship[link.adult_id] = link.relationship
    adult_refs = _assign_refs(list(adults.values()), lambda a: a.extra.get("ref", ""), "A")

    agencies: dict[int, Agency] = {}
    for entry in entries:
        agencies.setdefault(entry.agency.pk, entry.agency)
        for row in entry.attendance_rows.all():
            agencies.setdefault(row.agency.pk, row.agency)

    batches = {entry.import_batch_id for entry in entries}
    meta: dict = {}
    if len(batches) == 1 and None not in batches:
        batch = ImportBatch.objects.get(pk=batches.pop())
        meta = {k: v for k, v in batch.document_meta.items() if k != "format"}
    if not meta.get("title"):
        meta["title"] = "Chronology of " + ", ".join(child.full_name for child in children)

    return {
        "format": FORMAT,
        **meta,
        "children": [
            _with_extra(
                child.extra,
                {
                    "ref": child_refs[child.pk],
                    "name": child.full_name,
                    "date_of_birth": _iso(child.date_of_birth),
                    "date_of_birth_precision": child.date_of_birth_precision,
                    "sex": child.sex,
                    "notes": child.notes or None,
                },
            )
            for child in children
        ],
        "adults": [
            _with_extra(
                {k: v for k, v in adult.extra.items() if k != "ref"},
                {
                    "ref": adult_refs[adult.pk],
                    "name": adult.name,
                    "relationship": relationship.get(adult.pk),
                    "notes": adult.notes or None,
                },
            )
            for adult in adults.values()
        ],
        "agencies": [
            {"ref": agency.code, "name": agency.name, "kind": agency.kind}
            for agency in agencies.values()
        ],
        "events": [_event_document(entry, entry_refs, child_refs, adult_refs) for entry in entries],
    }


def _with_extra(extra: dict, fields: dict) -> dict:
    # A kept key never overrides a field the system holds.
    return {**fields, **{k: v for k, v in extra.items() if k not in fields}}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _event_document(entry: Entry, entry_refs, child_refs, adult_refs) -> dict:
    event = {
        "ref": entry_refs[entry.pk],
        "date": entry.event_date.isoformat(),
        "date_precision": entry.date_precision,
    }
    if entry.event_time is not None:
        event["time"] = entry.event_time.strftime("%H:%M")
    event.update(
        {
            "agency": entry.agency.code,
            "children": _event_children(entry, child_refs),
            "adults": [adult_refs[row.adult_id] for row in entry.adult_rows.all()],
            "kind": entry.kind,
            "categories": [row.category for row in entry.category_rows.all()],
            "severity": entry.severity,
            "summary": entry.summary,
            "child_words": entry.child_words,
            "action": entry.action,
            "status": entry.status,
            "decision": None,
            "scores": entry.scores,
        }
    )
    if entry.kind == EntryKind.DECISION:
        event["decision"] = {
            "type": entry.decision_type,
            "agencies": [row.agency.code for row in entry.attendance_rows.all()],
            "outcome": entry.decision_outcome,
            "notes": entry.decision_notes,
        }
    if entry.kind == EntryKind.NOTIFICATION:
        # Written explicitly: absent would mean "acknowledged on the day".
        ack = getattr(entry, "acknowledgement", None)
        event["acknowledged"] = _iso(ack.acknowledged_on) if ack else None
    return _with_extra(entry.extra, event)


@transaction.atomic
def export_csv(children: list[Child], *, actor) -> str:
    """The CSV chronology (header row, one event a row, lists joined by ';') of the
    current entries about `children`. Decisions, scores, adults and acknowledgements
    have no CSV column and are left out; use JSON to keep them. Audited per child.

    A cell a spreadsheet would run as a formula is written with a leading quote
    (chronology.csv_safe); import_csv takes it off again."""
    children, entries, child_refs, _ = _export_events(children, actor=actor, file_format="csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([CSV_HEADER_WORDS[name] for name in CSV_COLUMNS])
    for entry in entries:
        cells = [
            entry.event_date.isoformat(),
            entry.date_precision,
            entry.agency.code,
            ";".join(_event_children(entry, child_refs)),
            entry.kind,
            ";".join(row.category for row in entry.category_rows.all()),
            "" if entry.severity is None else entry.severity,
            entry.summary,
            entry.child_words or "",
            entry.action or "",
            entry.status or "",
        ]
        writer.writerow([csv_safe.escape(str(cell)) for cell in cells])
    return out.getvalue()


def require_single_agency(raw: bytes, *, file_format: str, agency: Agency) -> None:
    """Refuse a file with events of any agency other than `agency`.

    For imports through the API: an agency's system may record only its own
    agency's events. A file that cannot be read is left for the importer to
    report in full."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return
    if file_format == "csv":
        try:
            rows = csv.DictReader(io.StringIO(text))
            refs = {
                (value or "").strip()
                for row in rows
                for name, value in row.items()
                if name is not None and _csv_column(name) == "agency"
            }
        except csv.Error:
            return
    else:
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return
        events = document.get("events", []) if isinstance(document, dict) else []
        refs = {e.get("agency") for e in events if isinstance(e, dict)}
    others = sorted(str(ref) for ref in refs - {agency.code})
    if others:
        raise InterchangeError(
            [
                f"events of agency '{others[0]}': through the API you import only "
                f"{agency.code}'s events"
            ]
        )
