"""Import and export of the chronology interchange format (chronology.interchange and
the import_chronology / export_chronology commands)."""

import codecs
import copy
import csv
import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from agencies.models import Agency, AgencyKind
from agencies.services import service_account_get
from chronology import interchange, services
from chronology.interchange import InterchangeError
from chronology.models import (
    Adult,
    Allocation,
    AuditEvent,
    Child,
    ChildAdult,
    Entry,
    Household,
    ImportBatch,
    Involvement,
    NotificationAck,
    StatusPeriod,
)
from chronology.vocabulary import EntryKind

from ..factories import AgencyFactory

ROOT = Path(__file__).resolve().parents[2]
CASE_Q = ROOT / "chronology" / "fixtures" / "case_q.json"
DATA = Path(__file__).resolve().parent / "data"
MB = 1024 * 1024

COUNTED = [
    Entry,
    Child,
    Agency,
    Involvement,
    AuditEvent,
    ImportBatch,
    Adult,
    ChildAdult,
    Household,
    StatusPeriod,
    Allocation,
    NotificationAck,
]


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def importer(db):
    """The service account the import command acts as (created before counting)."""
    return service_account_get(purpose="import")


@pytest.fixture
def case_q_raw() -> bytes:
    return CASE_Q.read_bytes()


def import_json(document_or_raw, *, as_agency, actor, file_name="test.json", **kwargs):
    raw = document_or_raw
    if isinstance(raw, dict):
        raw = json.dumps(raw).encode()
    return interchange.import_document(
        raw, file_name=file_name, as_agency=as_agency, actor=actor, **kwargs
    )


def refused(call) -> list[str]:
    """Run `call`, which must raise InterchangeError, and return its messages."""
    with pytest.raises(InterchangeError) as caught:
        call()
    return caught.value.messages


# --- comparing documents ------------------------------------------------------------------


def without_nulls(record: dict) -> dict:
    # The format treats null and absent optional fields alike.
    return {key: value for key, value in record.items() if value is not None}


def normalised_event(event: dict) -> dict:
    acknowledged = event.get("acknowledged", event["date"])  # absent: on the day
    result = without_nulls(event)
    result.setdefault("date_precision", "day")
    result.setdefault("categories", [])
    result.setdefault("adults", [])
    if result.get("decision"):
        result["decision"] = without_nulls(result["decision"])
    if event["kind"] == "notification":
        result["acknowledged"] = acknowledged
    return result


def normalised_child(child: dict) -> dict:
    result = without_nulls(child)
    result.setdefault("date_of_birth_precision", "day")
    return result


def by_ref(records, normalise=without_nulls) -> dict:
    return {record["ref"]: normalise(record) for record in records}


def assert_same_chronology(original: dict, exported: dict) -> None:
    """Every field of every event, child and adult, and the document's own keys."""
    assert exported["format"] == "chronology-interchange/1"
    assert by_ref(exported["events"], normalised_event) == by_ref(
        original["events"], normalised_event
    )
    assert by_ref(exported["children"], normalised_child) == by_ref(
        original["children"], normalised_child
    )
    assert by_ref(exported["adults"]) == by_ref(original["adults"])
    # Agencies have no place for unknown keys: ref, name and kind come back.
    exported_agencies = by_ref(exported["agencies"])
    assert exported_agencies == {
        agency["ref"]: {key: agency[key] for key in ("ref", "name", "kind")}
        for agency in original["agencies"]
        if agency["ref"] in exported_agencies
    }
    for key in set(original) - {"children", "adults", "agencies", "events"}:
        assert exported[key] == original[key], key
    # Events come out in date order, the file's order breaking ties.
    in_date_order = sorted(
        enumerate(original["events"]), key=lambda item: (item[1]["date"], item[0])
    )
    assert [e["ref"] for e in exported["events"]] == [e["ref"] for _, e in in_date_order]


# --- round trips ------------------------------------------------------------------------


def test_case_q_exported_after_import_gives_back_every_event_child_and_adult(
    case_q_raw, social_care, importer
):
    original = json.loads(case_q_raw)

    result = interchange.import_document(
        case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
    )
    exported = interchange.export_document(
        [result.children["C1"], result.children["C2"]], actor=importer
    )

    assert result.entries == len(original["events"]) == 66
    assert_same_chronology(original, exported)


def test_a_document_using_every_field_round_trips_through_json(social_care, importer):
    raw = (DATA / "every_field.json").read_bytes()
    original = json.loads(raw)

    result = import_json(raw, as_agency=social_care, actor=importer)
    exported = interchange.export_document(list(result.children.values()), actor=importer)

    assert_same_chronology(original, exported)
    # Kept unknown keys come back where they were.
    assert exported["prepared_by"] == "test suite"
    assert by_ref(exported["children"])["C1"]["school_year"] == 3
    assert by_ref(exported["adults"])["A1"]["phone_known"] is False
    assert by_ref(exported["events"])["E12"]["source_page"] == 12


def test_a_json_export_survives_being_imported_again_elsewhere(social_care, importer):
    """Export, then import the exported file (a different file, so no sha clash) on a
    system where those children do not exist yet: same events again."""
    raw = (DATA / "every_field.json").read_bytes()
    result = import_json(raw, as_agency=social_care, actor=importer)
    exported = interchange.export_document(list(result.children.values()), actor=importer)
    # Rename the refs so the children are new, as on another system.
    text = json.dumps(exported).replace('"C1"', '"X1"').replace('"C2"', '"X2"')

    again = import_json(text.encode(), as_agency=social_care, actor=importer)
    exported_again = interchange.export_document(list(again.children.values()), actor=importer)

    assert by_ref(exported_again["events"], normalised_event) == by_ref(
        json.loads(text)["events"], normalised_event
    )


def csv_rows(text: str) -> list[dict]:
    """The rows keyed by column code, whether the header is in codes or in words."""
    rows = [
        {
            interchange.CSV_COLUMN_FOR_WORDS.get(key.lower(), key): value
            for key, value in row.items()
        }
        for row in csv.DictReader(io.StringIO(text, newline=""))
    ]
    for row in rows:
        row["date_precision"] = row["date_precision"] or "day"
    return rows


@pytest.fixture
def csv_children(alice, school, housing):
    """R1 and R2, recorded by social care; the school and housing exist as agencies."""
    return [
        services.child_create(actor=alice, given_names="Robin", family_name="Reed", ref="R1"),
        services.child_create(actor=alice, given_names="Rowan", family_name="Reed", ref="R2"),
    ]


def test_a_csv_chronology_round_trips_through_csv(csv_children, social_care, importer):
    raw = (DATA / "events.csv").read_bytes()

    result = interchange.import_csv(
        raw, file_name="events.csv", as_agency=social_care, actor=importer
    )
    exported = interchange.export_csv(csv_children, actor=importer)

    assert result.entries == 5
    assert set(result.children) == {"R1", "R2"}
    assert csv_rows(exported) == csv_rows(raw.decode("utf-8"))
    # The header is in words for a person; the cells keep the codes, and it imports again.
    assert exported.splitlines()[0] == (
        "Date,Date precision,Agency,Children,Kind,Categories,Severity,Summary,"
        "Child's words,Action,Status"
    )
    assert csv_rows(exported)[0]["agency"] == "school"


def test_a_csv_with_its_header_in_words_imports(csv_children, social_care, importer):
    raw = (DATA / "events.csv").read_text()
    header, rest = raw.split("\n", 1)
    in_words = ",".join(interchange.CSV_HEADER_WORDS[name] for name in header.split(","))

    result = interchange.import_csv(
        (in_words + "\n" + rest).encode(),
        file_name="words.csv",
        as_agency=social_care,
        actor=importer,
    )

    assert result.entries == 5


def test_case_q_exported_as_csv_has_one_row_per_event_with_lists_joined_by_semicolons(
    case_q_raw, social_care, importer
):
    result = interchange.import_document(
        case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
    )

    rows = csv_rows(interchange.export_csv([result.children["C1"]], actor=importer))

    events = json.loads(case_q_raw)["events"]
    assert len(rows) == len(events)  # every event is about C1
    first = rows[0]
    assert first["children"] == "C1"  # C2 is not in this export
    assert first["categories"] == "domestic_abuse;parental_substance_misuse"
    assert first["date_precision"] == "year"
    assert first["severity"] == "3"


# --- what an import writes ----------------------------------------------------------------


def test_importing_case_q_creates_the_children_household_adults_and_involvements(
    case_q_raw, social_care, importer
):
    result = interchange.import_document(
        case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
    )

    c1, c2 = result.children["C1"], result.children["C2"]
    assert (c1.given_names, c1.family_name, c1.ref) == ("Child", "Q1", "C1")
    assert (c1.date_of_birth, c1.date_of_birth_precision, c1.sex) == (
        datetime.date(2007, 1, 1),
        "year",
        "F",
    )
    assert c2.sex is None
    assert c1.household_id == c2.household_id is not None
    assert c1.household.name == "Case Q"  # a label; the batch keeps the whole title

    links = ChildAdult.objects.filter(child=c1).select_related("adult")
    assert {link.adult.name: link.relationship for link in links} == {
        "Mother": "mother",
        "Father": "father",
        "Maternal grandmother": "maternal_grandmother",
        "Unknown adult males": "visitors",
    }
    assert ChildAdult.objects.filter(child=c2).count() == 4
    assert Adult.objects.filter(poses_risk_to_children=True).count() == 0

    # Each agency with events about C1 from its first one; the importer from today.
    involvements = {
        i.agency.code: i for i in Involvement.objects.filter(child=c1).select_related("agency")
    }
    assert set(involvements) == {
        "sc",
        "school",
        "police",
        "probation",
        "council",
        "refuge",
        "nspcc",
        "social_care",
    }
    assert involvements["police"].started_on == datetime.date(2008, 1, 1)
    assert involvements["sc"].started_on == timezone.localdate()
    assert involvements["school"].reason == "Imported from case_q.json"

    batch = result.batch
    assert (batch.agency, batch.imported_by, batch.file_name) == (
        social_care,
        importer,
        "case_q.json",
    )
    assert set(batch.document_meta) == {"format", "title", "notes", "sources", "expect"}
    assert batch.entries.count() == 66
    entry = batch.entries.get(source_ref="E8")
    assert entry.author == importer and entry.agency.code == "social_care"
    assert entry.decision_outcome == "child_protection_plan"
    assert [a.code for a in entry.agencies_present.order_by("code")] == sorted(
        ["social_care", "police", "school", "refuge", "health"]
    )
    assert AuditEvent.objects.filter(action="import").count() == 2
    # The entries are audited by their batch, one row for the lot, not one each.
    assert not AuditEvent.objects.filter(action="entry.record").exists()
    (audited,) = AuditEvent.objects.filter(action="import.batch")
    assert audited.object_id == str(batch.public_id)
    assert audited.details["entries"] == 66 and audited.details["batch"] == 1
    # Each entry keeps its provenance: the batch, and its ref and place in the file.
    assert (entry.source_ref, entry.source_row) == ("E8", 7)
    assert not batch.in_progress and batch.batches_done == batch.batches_total == 1


def test_status_events_apply_in_date_order_even_when_the_file_lists_them_out_of_order(
    social_care, importer
):
    result = import_json(
        (DATA / "every_field.json").read_bytes(), as_agency=social_care, actor=importer
    )

    period = StatusPeriod.objects.get(child=result.children["C1"])
    assert (period.status, period.started_on, period.ended_on) == (
        "child_protection_plan",
        datetime.date(2020, 6, 15),
        datetime.date(2021, 1, 5),
    )
    assert Allocation.objects.get(child=result.children["C2"]).team.startswith("Allocated")


def test_notifications_are_acknowledged_as_the_document_says(social_care, importer):
    result = import_json(
        (DATA / "every_field.json").read_bytes(), as_agency=social_care, actor=importer
    )

    acks = {
        e.source_ref: getattr(e, "acknowledgement", None)
        for e in result.batch.entries.filter(kind="notification")
    }
    assert acks["E4"].acknowledged_on == datetime.date(2020, 6, 5)
    assert acks["E5"] is None  # null: never acknowledged
    assert acks["E6"].acknowledged_on == datetime.date(2020, 6, 11)  # absent: on the day


def test_an_existing_child_with_the_same_ref_receives_the_imported_events(
    case_q_raw, alice, social_care, importer
):
    existing = services.child_create(actor=alice, given_names="Child", family_name="Q1", ref="C1")
    children_before = Child.objects.count()

    result = interchange.import_document(
        case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
    )

    assert result.children["C1"] == existing
    assert Child.objects.count() == children_before + 1  # only C2 is new
    assert existing.entries.count() == 66


def test_an_existing_child_with_the_same_ref_but_another_name_is_refused(
    case_q_raw, alice, social_care, importer
):
    services.child_create(actor=alice, given_names="Robin", family_name="Synthetic", ref="C1")
    before = table_counts()

    messages = refused(
        lambda: interchange.import_document(
            case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
        )
    )

    assert messages == [
        "children[0] (ref C1), ref: an existing child has ref 'C1' but is named "
        "'Robin Synthetic', not 'Child Q1'; refusing to merge two children"
    ]
    assert table_counts() == before


# --- refusing bad input ----------------------------------------------------------------------


def small_document() -> dict:
    """A valid document with one event of each kind that carries kind-specific fields."""
    return {
        "format": "chronology-interchange/1",
        "title": "Small",
        "children": [
            {"ref": "C1", "name": "Ann Test", "date_of_birth": "2016-04-02", "sex": "F"},
            {
                "ref": "C2",
                "name": "Ben Test",
                "date_of_birth": "2017-01-01",
                "date_of_birth_precision": "year",
            },
        ],
        "adults": [{"ref": "A1", "name": "Cara Test", "relationship": "mother"}],
        "agencies": [
            {"ref": "tschool", "name": "Test school", "kind": "education"},
            {"ref": "tpolice", "name": "Test police", "kind": "police"},
        ],
        "events": [
            {
                "ref": "E1",
                "date": "2023-01-10",
                "agency": "tschool",
                "children": ["C1", "C2"],
                "adults": ["A1"],
                "kind": "concern",
                "categories": ["neglect.nutrition"],
                "severity": 2,
                "summary": "No breakfast.",
            },
            {
                "ref": "E2",
                "date": "2023-01-11",
                "time": "21:30",
                "agency": "tpolice",
                "children": ["C1"],
                "kind": "notification",
                "categories": ["domestic_abuse"],
                "summary": "Notice to school.",
                "acknowledged": "2023-01-12",
            },
            {
                "ref": "E3",
                "date": "2023-01-12",
                "agency": "tpolice",
                "children": ["C1", "C2"],
                "kind": "decision",
                "summary": "Strategy discussion.",
                "decision": {
                    "type": "strategy_discussion",
                    "agencies": ["tpolice", "tschool"],
                    "outcome": "section_47_enquiry",
                },
            },
            {
                "ref": "E4",
                "date": "2023-02-01",
                "date_precision": "month",
                "agency": "tpolice",
                "children": ["C2"],
                "kind": "status",
                "status": "child_in_need",
                "summary": "Child in need.",
            },
            {
                "ref": "E5",
                "date": "2023-02-03",
                "agency": "tschool",
                "children": ["C1"],
                "kind": "assessment",
                "summary": "Assessment.",
                "scores": {"nutrition": 3},
            },
        ],
    }


def set_path(document: dict, path: str, value) -> None:
    """Set document[a][0][b] = value for path 'a.0.b'."""
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def append_copy(document: dict, list_name: str, index: int) -> None:
    document[list_name].append(copy.deepcopy(document[list_name][index]))


BAD_DOCUMENTS = [
    # (id, change, expected message)
    (
        "wrong format",
        lambda d: set_path(d, "format", "chronology/2"),
        "format is 'chronology/2'; this importer reads 'chronology-interchange/1'",
    ),
    (
        "no format",
        lambda d: d.pop("format"),
        "format is missing; this importer reads 'chronology-interchange/1'",
    ),
    (
        "unknown event kind",
        lambda d: set_path(d, "events.0.kind", "gossip"),
        "events[0] (ref E1), kind: unknown event kind 'gossip'",
    ),
    (
        "unknown category",
        lambda d: set_path(d, "events.0.categories", ["neglect.food"]),
        "events[0] (ref E1), categories: unknown category 'neglect.food'",
    ),
    (
        "unknown status",
        lambda d: set_path(d, "events.3.status", "adopted"),
        "events[3] (ref E4), status: unknown status 'adopted'",
    ),
    (
        "status missing",
        lambda d: set_path(d, "events.3.status", None),
        "events[3] (ref E4), status: a status event needs a status",
    ),
    (
        "status on another kind",
        lambda d: set_path(d, "events.0.status", "closed"),
        "events[0] (ref E1), status: only a status event carries a status",
    ),
    (
        "unknown decision type",
        lambda d: set_path(d, "events.2.decision.type", "chat"),
        "events[2] (ref E3), decision.type: unknown decision type 'chat'",
    ),
    (
        "unknown outcome",
        lambda d: set_path(d, "events.2.decision.outcome", "shrug"),
        "events[2] (ref E3), decision.outcome: unknown decision outcome 'shrug'",
    ),
    (
        "decision missing",
        lambda d: set_path(d, "events.2.decision", None),
        "events[2] (ref E3), decision: a decision event needs a decision object with a type",
    ),
    (
        "unknown agency kind",
        lambda d: set_path(d, "agencies.1.kind", "army"),
        "agencies[1] (ref tpolice), kind: unknown agency kind 'army'",
    ),
    (
        "unknown date precision",
        lambda d: set_path(d, "events.0.date_precision", "week"),
        "events[0] (ref E1), date_precision: unknown date precision 'week'",
    ),
    (
        "month precision not on the 1st",
        lambda d: set_path(d, "events.3.date", "2023-02-14"),
        "events[3] (ref E4), date: with precision 'month' the date is the 1st (2023-02-01)",
    ),
    (
        "impossible date",
        lambda d: set_path(d, "events.0.date", "2013-02-30"),
        "events[0] (ref E1), date: '2013-02-30' is not a date (YYYY-MM-DD)",
    ),
    (
        "date in another form",
        lambda d: set_path(d, "events.0.date", "10/01/2023"),
        "events[0] (ref E1), date: '10/01/2023' is not a date (YYYY-MM-DD)",
    ),
    (
        "no date",
        lambda d: d["events"][0].pop("date"),
        "events[0] (ref E1), date: is required (YYYY-MM-DD)",
    ),
    (
        "bad time",
        lambda d: set_path(d, "events.1.time", "25:00"),
        "events[1] (ref E2), time: '25:00' is not a time (HH:MM)",
    ),
    (
        "bad date of birth",
        lambda d: set_path(d, "children.0.date_of_birth", "2016-13-01"),
        "children[0] (ref C1), date_of_birth: '2016-13-01' is not a date (YYYY-MM-DD)",
    ),
    (
        "bad acknowledged date",
        lambda d: set_path(d, "events.1.acknowledged", "soon"),
        "events[1] (ref E2), acknowledged: 'soon' is not a date (YYYY-MM-DD)",
    ),
    (
        "acknowledged before sent",
        lambda d: set_path(d, "events.1.acknowledged", "2023-01-01"),
        "events[1] (ref E2), acknowledged: 2023-01-01 is before the event date 2023-01-11",
    ),
    (
        "undefined child",
        lambda d: set_path(d, "events.0.children", ["C1", "C9"]),
        "events[0] (ref E1), children: 'C9' is not one of the document's children",
    ),
    (
        "undefined adult",
        lambda d: set_path(d, "events.0.adults", ["A7"]),
        "events[0] (ref E1), adults: 'A7' is not one of the document's adults",
    ),
    (
        "undefined agency",
        lambda d: set_path(d, "events.0.agency", "gp"),
        "events[0] (ref E1), agency: 'gp' is not one of the document's agencies",
    ),
    (
        "undefined decision agency",
        lambda d: set_path(d, "events.2.decision.agencies", ["gp"]),
        "events[2] (ref E3), decision.agencies: 'gp' is not one of the document's agencies",
    ),
    (
        "no children on an event",
        lambda d: set_path(d, "events.0.children", []),
        "events[0] (ref E1), children: name at least one child",
    ),
    (
        "duplicate child ref",
        lambda d: set_path(d, "children.1.ref", "C1"),
        "children[1] (ref C1): ref 'C1' is already used by children[0]",
    ),
    (
        "duplicate adult ref",
        lambda d: append_copy(d, "adults", 0),
        "adults[1] (ref A1): ref 'A1' is already used by adults[0]",
    ),
    (
        "duplicate agency ref",
        lambda d: append_copy(d, "agencies", 0),
        "agencies[2] (ref tschool): ref 'tschool' is already used by agencies[0]",
    ),
    (
        "duplicate event ref",
        lambda d: set_path(d, "events.4.ref", "E2"),
        "events[4] (ref E2): ref 'E2' is already used by events[1]",
    ),
    (
        "severity too high",
        lambda d: set_path(d, "events.0.severity", 6),
        "events[0] (ref E1), severity: severity 6 is not a whole number from 1 to 5",
    ),
    (
        "severity zero",
        lambda d: set_path(d, "events.0.severity", 0),
        "events[0] (ref E1), severity: severity 0 is not a whole number from 1 to 5",
    ),
    (
        "severity as text",
        lambda d: set_path(d, "events.0.severity", "2"),
        "events[0] (ref E1), severity: severity '2' is not a whole number from 1 to 5",
    ),
    (
        "score too high",
        lambda d: set_path(d, "events.4.scores", {"nutrition": 7}),
        "events[4] (ref E5), scores.nutrition: score 7 is not a whole number from 1 to 5",
    ),
    (
        "score zero",
        lambda d: set_path(d, "events.4.scores", {"hygiene": 0}),
        "events[4] (ref E5), scores.hygiene: score 0 is not a whole number from 1 to 5",
    ),
    (
        "unknown sex",
        lambda d: set_path(d, "children.0.sex", "female"),
        "children[0] (ref C1), sex: unknown sex 'female'",
    ),
    (
        "child without a name",
        lambda d: d["children"][0].pop("name"),
        "children[0] (ref C1), name: is required",
    ),
    (
        "event without a summary",
        lambda d: set_path(d, "events.0.summary", "  "),
        "events[0] (ref E1), summary: is required",
    ),
    (
        "category listed twice",
        lambda d: set_path(d, "events.0.categories", ["missing", "missing"]),
        "events[0] (ref E1), categories: 'missing' is listed twice",
    ),
    ("events not a list", lambda d: set_path(d, "events", {"E1": {}}), "events: must be a list"),
    ("no children", lambda d: set_path(d, "children", []), "children: the document names no child"),
    (
        "new agency without a kind",
        lambda d: d["agencies"][0].pop("kind"),
        "agencies[0] (ref tschool), kind: is required to create the agency",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [pytest.param(change, expected, id=name) for name, change, expected in BAD_DOCUMENTS],
)
def test_a_bad_document_is_refused_naming_where_and_nothing_is_saved(
    change, expected, social_care, importer
):
    document = small_document()
    change(document)
    before = table_counts()

    messages = refused(lambda: import_json(document, as_agency=social_care, actor=importer))

    assert any(message.startswith(expected) for message in messages), messages
    assert table_counts() == before


def test_the_small_document_used_for_bad_input_is_itself_valid(social_care, importer):
    # Otherwise the refusals above could be for some other reason.
    result = import_json(small_document(), as_agency=social_care, actor=importer)
    assert result.entries == 5


def test_every_problem_in_a_document_is_reported_at_once(social_care, importer):
    document = small_document()
    set_path(document, "events.0.kind", "gossip")
    set_path(document, "events.1.date", "2023-02-30")
    set_path(document, "agencies.0.kind", "school")

    messages = refused(lambda: import_json(document, as_agency=social_care, actor=importer))

    assert len(messages) == 3


def test_no_more_than_fifty_problems_are_listed(social_care, importer):
    document = small_document()
    event = document["events"][0]
    document["events"] = [dict(event, ref=f"E{n}", kind="gossip") for n in range(1, 61)]

    messages = refused(lambda: import_json(document, as_agency=social_care, actor=importer))

    assert len(messages) == 51
    assert messages[-1] == "... and 10 more problems not shown"


def test_unknown_keys_are_kept_never_refused(social_care, importer):
    document = small_document()
    document["events"][0]["reviewer_comment"] = {"nested": [1, 2]}
    document["children"][0]["nickname"] = "Annie"
    document["generator"] = "hand-written"

    result = import_json(document, as_agency=social_care, actor=importer)

    assert result.batch.entries.get(source_ref="E1").extra == {
        "reviewer_comment": {"nested": [1, 2]}
    }
    assert result.children["C1"].extra == {"nickname": "Annie"}
    assert result.batch.document_meta["generator"] == "hand-written"


def test_malformed_json_is_refused_with_its_line_and_column(social_care, importer):
    raw = b'{\n  "format": "chronology-interchange/1",\n  "title": "x"\n  "children": []\n}'
    before = table_counts()

    messages = refused(lambda: import_json(raw, as_agency=social_care, actor=importer))

    assert messages == ["the file is not valid JSON: Expecting ',' delimiter at line 4, column 3"]
    assert table_counts() == before


def test_a_file_that_is_not_utf8_is_refused_with_the_byte_offset(case_q_raw, social_care, importer):
    raw = case_q_raw.replace(b"Child Q1", b"Child Q\xe91", 1)  # Latin-1 é
    before = table_counts()

    messages = refused(lambda: import_json(raw, as_agency=social_care, actor=importer))

    offset = raw.index(b"\xe9")
    assert messages == [
        f"the file is not UTF-8: byte 0xe9 at byte offset {offset} cannot be read as UTF-8; "
        "save the file as UTF-8"
    ]
    assert table_counts() == before


def test_a_utf16_file_is_refused_as_not_utf8(social_care, importer):
    raw = json.dumps(small_document()).encode("utf-16")

    messages = refused(lambda: import_json(raw, as_agency=social_care, actor=importer))

    assert messages == ["the file is not UTF-8 (it is UTF-16); save it as UTF-8"]


def test_a_utf8_byte_order_mark_is_accepted(social_care, importer):
    raw = codecs.BOM_UTF8 + (DATA / "every_field.json").read_bytes()

    result = import_json(raw, as_agency=social_care, actor=importer)

    assert result.children["C1"].given_names == "Zoë Ann"
    assert result.children["C1"].family_name == "Smith-Jones"


@pytest.mark.parametrize("raw", [b"", b"  \n", codecs.BOM_UTF8], ids=["empty", "blank", "only BOM"])
def test_an_empty_file_is_refused(raw, social_care, importer):
    before = table_counts()

    messages = refused(lambda: import_json(raw, as_agency=social_care, actor=importer))

    assert messages == ["the file is empty"]
    assert table_counts() == before


def test_a_file_imported_before_is_refused_naming_the_earlier_import(
    case_q_raw, social_care, importer
):
    first = interchange.import_document(
        case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
    )
    before = table_counts()

    messages = refused(
        lambda: interchange.import_document(
            case_q_raw, file_name="renamed.json", as_agency=social_care, actor=importer
        )
    )

    assert len(messages) == 1
    assert messages[0].startswith("this file was imported before, as 'case_q.json' on ")
    assert f"by system-import (import batch {first.batch.public_id})" in messages[0]
    assert table_counts() == before


def test_the_same_file_imported_at_the_same_moment_is_refused_by_the_database(
    case_q_raw, social_care, importer, monkeypatch
):
    """Two imports both pass the sha256 check; the unique sha256 stops the second."""
    interchange.import_document(
        case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
    )
    real_check = interchange._check_not_imported
    checks = []

    def check_that_misses_the_first_time(sha256, **kwargs):
        checks.append(sha256)
        if len(checks) > 1:
            return real_check(sha256, **kwargs)
        return None

    monkeypatch.setattr(interchange, "_check_not_imported", check_that_misses_the_first_time)
    before = table_counts()

    messages = refused(
        lambda: interchange.import_document(
            case_q_raw, file_name="again.json", as_agency=social_care, actor=importer
        )
    )

    assert len(checks) == 2  # the second check ran after the database refused
    assert messages[0].startswith("this file was imported before, as 'case_q.json'")
    assert table_counts() == before


def test_a_file_over_the_size_limit_is_refused_before_it_is_decoded_or_parsed(
    social_care, importer, settings, monkeypatch
):
    settings.IMPORT_MAX_BYTES = 20 * MB
    looked_at = []
    monkeypatch.setattr(interchange, "_decode", lambda raw: looked_at.append("decode"))
    monkeypatch.setattr(interchange, "_parse_json", lambda text: looked_at.append("parse"))
    raw = b" " * (50 * MB)
    before = table_counts()

    messages = refused(lambda: import_json(raw, as_agency=social_care, actor=importer))

    assert messages == ["the file is 50.0 MB; the limit is 20 MB"]
    assert looked_at == []
    assert table_counts() == before


def test_the_import_command_refuses_a_huge_file_without_reading_it(
    mallory, tmp_path, social_care, importer, settings, monkeypatch
):
    settings.IMPORT_MAX_BYTES = 20 * MB
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(50 * MB)  # sparse: 50 MB long, nothing written
    read = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or b"")
    before = table_counts()

    with pytest.raises(CommandError, match=r"the file is 50\.0 MB; the limit is 20 MB"):
        call_command("import_chronology", str(path), "--as-agency", "sc", "--user", "mallory")

    assert read == []
    assert table_counts() == before


def test_a_failure_while_writing_rolls_back_the_whole_import(
    case_q_raw, social_care, importer, monkeypatch
):
    """A file of one batch is one transaction: a refusal by the services at write
    time (something changed after the checks) leaves nothing of it, not even the
    children and agencies it created first."""

    def refusing_the_thirtieth(**kwargs):
        raise services.EntryDraftRefused(29, ValidationError({"summary": "Simulated failure."}))

    monkeypatch.setattr(services, "entries_record_bulk", refusing_the_thirtieth)
    before = table_counts()

    messages = refused(
        lambda: interchange.import_document(
            case_q_raw, file_name="case_q.json", as_agency=social_care, actor=importer
        )
    )

    assert len(messages) == 1 and messages[0].endswith("summary: Simulated failure.")
    assert messages[0].startswith("events[")
    assert table_counts() == before


def test_progress_is_reported_after_each_batch(social_care, importer, settings):
    settings.IMPORT_BATCH_SIZE = 100
    document = small_document()
    event = document["events"][0]
    document["events"] = [dict(event, ref=f"E{n}") for n in range(1, 251)]
    calls = []

    import_json(
        document, as_agency=social_care, actor=importer, progress=lambda *a: calls.append(a)
    )

    assert calls == [(100, 250), (200, 250), (250, 250)]


def test_only_a_service_account_imports_events_of_other_agencies(bob, social_care):
    before = table_counts()

    messages = refused(lambda: import_json(small_document(), as_agency=social_care, actor=bob))

    assert (
        "events[1] (ref E2), agency: 'tpolice' is not your agency; import the file with a "
        "service account" in messages
    )
    assert table_counts() == before


def test_importing_as_the_system_agency_is_refused(importer):
    messages = refused(
        lambda: import_json(small_document(), as_agency=importer.agency, actor=importer)
    )

    assert messages == ["cannot import as 'system': it is the system agency"]


# --- CSV import -------------------------------------------------------------------------------


CSV_HEADER = (
    "date,date_precision,agency,children,kind,categories,severity,summary,child_words,action,status"
)


def import_csv_text(text: str, *, as_agency, actor):
    return interchange.import_csv(
        text.encode(), file_name="test.csv", as_agency=as_agency, actor=actor
    )


BAD_CSV = [
    (
        "missing columns",
        "date,agency,children,kind,categories,summary,child_words,action\n"
        "2024-01-02,school,R1,note,,Hello,,\n",
        "line 1: the header lacks the column(s) date_precision, severity, status",
    ),
    (
        "impossible date",
        f"{CSV_HEADER}\n2024-01-02,,school,R1,note,,,Hi,,,\n2013-02-30,,school,R1,note,,,Hi,,,\n",
        "line 3, column 'date': '2013-02-30' is not a date (YYYY-MM-DD)",
    ),
    (
        "unknown child",
        f"{CSV_HEADER}\n2024-01-02,,school,R1;R9,note,,,Hi,,,\n",
        "line 2, column 'children': no child your agency works with has ref 'R9'",
    ),
    (
        "unknown agency",
        f"{CSV_HEADER}\n2024-01-02,,academy,R1,note,,,Hi,,,\n",
        "line 2, column 'agency': no agency has code 'academy'",
    ),
    (
        "the system agency",
        f"{CSV_HEADER}\n2024-01-02,,system,R1,note,,,Hi,,,\n",
        "line 2, column 'agency': no agency has code 'system'",
    ),
    (
        "unknown category",
        f"{CSV_HEADER}\n2024-01-02,,school,R1,concern,neglect.food,2,Hi,,,\n",
        "line 2, column 'categories': unknown category 'neglect.food'",
    ),
    (
        "severity as a word",
        f"{CSV_HEADER}\n2024-01-02,,school,R1,concern,,high,Hi,,,\n",
        "line 2, column 'severity': severity 'high' is not a whole number from 1 to 5",
    ),
    (
        "unknown kind",
        f"{CSV_HEADER}\n2024-01-02,,school,R1,rumour,,,Hi,,,\n",
        "line 2, column 'kind': unknown event kind 'rumour'",
    ),
    (
        "decision",
        f"{CSV_HEADER}\n2024-01-02,,school,R1,decision,,,Hi,,,\n",
        "line 2, column 'kind': a decision cannot be imported from CSV",
    ),
    (
        "too many values",
        f"{CSV_HEADER}\n2024-01-02,,school,R1,note,,,Hi,,,,extra\n",
        "line 2: has 12 values but the header has 11 columns",
    ),
    ("no events", f"{CSV_HEADER}\n", "the file has a header but no events"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=name) for name, text, expected in BAD_CSV],
)
def test_a_bad_csv_file_is_refused_naming_the_line_and_column_and_nothing_is_saved(
    text, expected, csv_children, social_care, importer
):
    before = table_counts()

    messages = refused(lambda: import_csv_text(text, as_agency=social_care, actor=importer))

    assert any(message.startswith(expected) for message in messages), messages
    assert table_counts() == before


def test_a_csv_error_after_a_multi_line_value_names_the_line_the_row_starts_on(
    csv_children, social_care, importer
):
    text = (
        f"{CSV_HEADER}\n"
        '2024-01-02,,school,R1,note,,,"two\nlines",,,\n'  # lines 2 and 3
        "2024-01-03,,school,R1,gossip,,,Hi,,,\n"
    )

    messages = refused(lambda: import_csv_text(text, as_agency=social_care, actor=importer))

    assert messages == [
        "line 4, column 'kind': unknown event kind 'gossip' (one of: "
        + ", ".join(EntryKind.values)
        + ")"
    ]


def test_extra_csv_columns_are_kept_and_ref_and_time_are_understood(
    csv_children, social_care, importer
):
    text = f"{CSV_HEADER},ref,time,page\n2024-01-02,,school,R1,note,,,Hi,,,,S7,09:15,4\n"

    result = import_csv_text(text, as_agency=social_care, actor=importer)

    entry = result.batch.entries.get()
    assert (entry.source_ref, entry.event_time, entry.extra) == (
        "S7",
        datetime.time(9, 15),
        {"page": "4"},
    )


# --- export -------------------------------------------------------------------------------------


def test_export_leaves_out_replaced_and_mistaken_entries_and_other_children(
    alice, school, importer
):
    ann = services.child_create(actor=alice, given_names="Ann", family_name="Lee", ref="K1")
    ben = services.child_create(actor=alice, given_names="Ben", family_name="Lee")
    services.entry_record(
        actor=alice,
        children=[ann, ben],
        kind="note",
        event_date=datetime.date(2024, 1, 1),
        summary="About both",
    )
    services.entry_record(
        actor=alice,
        children=[ben],
        kind="note",
        event_date=datetime.date(2024, 1, 2),
        summary="About Ben only",
    )
    mistaken = services.entry_record(
        actor=alice,
        children=[ann],
        kind="note",
        event_date=datetime.date(2024, 1, 3),
        summary="Wrong child",
    )
    services.entry_mark_entered_in_error(actor=alice, entry=mistaken, reason="Wrong child")
    wrong = services.entry_record(
        actor=alice,
        children=[ann],
        kind="concern",
        event_date=datetime.date(2024, 1, 4),
        summary="Typo",
        categories=["missing"],
        severity=2,
    )
    services.entry_amend(actor=alice, entry=wrong, reason="Typo", summary="Corrected")

    document = interchange.export_document([ann], actor=importer)

    assert [(e["summary"], e["children"]) for e in document["events"]] == [
        ("About both", ["K1"]),
        ("Corrected", ["K1"]),
    ]
    assert document["events"][0]["ref"] == "E1"  # no source ref: numbered
    assert document["children"] == [
        {
            "ref": "K1",
            "name": "Ann Lee",
            "date_of_birth": None,
            "date_of_birth_precision": "day",
            "sex": None,
            "notes": None,
        }
    ]
    assert AuditEvent.objects.filter(action="export", child=ann).count() == 1
    assert AuditEvent.objects.filter(action="export", child=ben).count() == 0


def test_a_child_without_a_ref_is_numbered_around_the_refs_in_use(alice, importer):
    first = services.child_create(actor=alice, given_names="Ann", family_name="Lee")
    second = services.child_create(actor=alice, given_names="Ben", family_name="Lee", ref="C1")
    services.entry_record(
        actor=alice,
        children=[first, second],
        kind="note",
        event_date=datetime.date(2024, 1, 1),
        summary="Both",
    )

    document = interchange.export_document([first, second], actor=importer)

    assert [c["ref"] for c in document["children"]] == ["C2", "C1"]
    assert document["events"][0]["children"] == ["C2", "C1"]


def test_staff_may_export_only_children_their_agency_can_read(child, alice, charlie):
    with pytest.raises(PermissionDenied):
        interchange.export_document([child], actor=charlie)
    assert AuditEvent.objects.filter(action="export").count() == 0

    interchange.export_document([child], actor=alice)
    assert AuditEvent.objects.filter(action="export", actor=alice, child=child).count() == 1


# --- the commands ----------------------------------------------------------------------------


def run(command: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_import_command_imports_a_json_file_and_reports_progress(mallory, social_care, db):
    out, err = run("import_chronology", str(CASE_Q), "--as-agency", "sc", "--user", "mallory")

    assert "Imported 66/66 events" in err
    assert (
        "Imported 66 events about 2 children [C1 (Child Q1), C2 (Child Q2)] from case_q.json" in out
    )
    batch = ImportBatch.objects.get()
    assert batch.imported_by.username == "system-import"
    assert batch.agency == social_care


def test_the_import_command_imports_csv_by_extension_or_by_format(
    mallory, tmp_path, csv_children, social_care, importer
):
    out, _ = run(
        "import_chronology", str(DATA / "events.csv"), "--as-agency", "sc", "--user", "mallory"
    )
    assert "Imported 5 events about 2 children" in out

    renamed = tmp_path / "events.txt"
    renamed.write_bytes((DATA / "events.csv").read_bytes().replace(b"Monitor", b"Watch"))
    out, _ = run(
        "import_chronology",
        str(renamed),
        "--as-agency",
        "sc",
        "--user",
        "mallory",
        "--format",
        "csv",
    )
    assert "Imported 5 events" in out
    assert Entry.objects.count() == 10


def test_the_import_command_refuses_an_unknown_agency_or_format(mallory, tmp_path, social_care):
    with pytest.raises(CommandError, match="No agency has the code 'nowhere'"):
        call_command(
            "import_chronology", str(CASE_Q), "--as-agency", "nowhere", "--user", "mallory"
        )
    with pytest.raises(CommandError, match="Cannot tell the format of 'case_q.txt'"):
        call_command(
            "import_chronology",
            str(tmp_path / "case_q.txt"),
            "--as-agency",
            "sc",
            "--user",
            "mallory",
        )


def test_the_import_command_lists_the_problems_of_a_bad_file(
    mallory, tmp_path, social_care, importer
):
    document = small_document()
    set_path(document, "events.0.categories", ["neglect.food"])
    set_path(document, "events.1.date", "2013-02-30")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    before = table_counts()

    with pytest.raises(CommandError) as caught:
        call_command("import_chronology", str(path), "--as-agency", "sc", "--user", "mallory")

    assert str(caught.value).splitlines() == [
        "bad.json was not imported; nothing was saved:",
        "  - events[0] (ref E1), categories: unknown category 'neglect.food'",
        "  - events[1] (ref E2), date: '2013-02-30' is not a date (YYYY-MM-DD)",
    ]
    assert table_counts() == before


def test_the_export_command_writes_json_for_children_named_by_ref_or_public_id(
    mallory, tmp_path, social_care, db
):
    run("import_chronology", str(CASE_Q), "--as-agency", "sc", "--user", "mallory")
    c2 = Child.objects.get(ref="C2")
    output = tmp_path / "out.json"

    out, _ = run("export_chronology", "C1", str(c2.public_id), "--output", str(output))

    assert f"to {output}" in out
    assert_same_chronology(json.loads(CASE_Q.read_bytes()), json.loads(output.read_text("utf-8")))
    assert AuditEvent.objects.filter(action="export", actor__username="system-export").count() == 2


def test_the_export_command_writes_csv_to_stdout(mallory, social_care, db):
    run("import_chronology", str(CASE_Q), "--as-agency", "sc", "--user", "mallory")

    out, err = run("export_chronology", "C2", "--format", "csv")

    rows = csv_rows(out)
    assert len(rows) == 54  # the events about the younger child
    assert "Exported the chronology of Child Q2." in err


def test_the_export_command_refuses_an_unknown_child(db):
    with pytest.raises(CommandError, match="No child has the public id or ref 'C404'"):
        call_command("export_chronology", "C404")


def test_agencies_missing_from_the_system_are_created_from_the_document(social_care, importer):
    AgencyFactory(code="tschool", name="Already here", kind=AgencyKind.EDUCATION)

    import_json(small_document(), as_agency=social_care, actor=importer)

    assert Agency.objects.get(code="tschool").name == "Already here"  # reused, not renamed
    created = Agency.objects.get(code="tpolice")
    assert (created.name, created.kind, created.is_system) == ("Test police", "police", False)
