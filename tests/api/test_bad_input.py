"""Bad input gets a 400 in JSON naming its field or row, and nothing is saved
(issue 14, item 4). Each of the seven inputs below answered 500 before."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency
from agencies.services import service_account_get
from chronology import interchange, services
from chronology.models import (
    Adult,
    AuditEvent,
    Child,
    Entry,
    EntryChild,
    ImportBatch,
    Involvement,
    NotificationAck,
)
from chronology.vocabulary import EntryKind

COUNTED = [Child, Entry, EntryChild, Involvement, ImportBatch, Adult, Agency, NotificationAck]
CSV_HEADER = (
    "date,date_precision,agency,children,kind,categories,severity,summary,child_words,action,status"
)
MB = 1024 * 1024


def counts() -> dict[str, int]:
    totals = {model.__name__: model.objects.count() for model in COUNTED}
    totals["AuditEvent"] = AuditEvent.objects.count()
    return totals


def texts(answer) -> str:
    """Every message in a JSON answer, one a line."""
    if isinstance(answer, dict):
        return "\n".join(texts(value) for value in answer.values())
    if isinstance(answer, list):
        return "\n".join(texts(value) for value in answer)
    return str(answer)


@pytest.fixture
def api(bob):
    service_account_get(purpose="import")  # made on first use: not part of any count
    client = APIClient()
    client.force_authenticate(bob)
    return client


@pytest.fixture
def school_child(child):
    child.ref = "P-1001"
    child.save()
    return child


def csv_file(summary: str = "Shoes with holes", date: str = "2026-02-02") -> bytes:
    row = f'{date},day,school,P-1001,concern,neglect.clothing,1,"{summary}",,,'
    return f"{CSV_HEADER}\n{row}\n".encode()


def document(*, name: str = "Sam New", summary: str = "Rent arrears", **event) -> dict:
    return {
        "format": "chronology-interchange/1",
        "children": [{"ref": "NEW-1", "name": name}],
        "agencies": [{"ref": "school"}],
        "events": [
            {
                "date": "2026-02-02",
                "agency": "school",
                "children": ["NEW-1"],
                "kind": "concern",
                "summary": summary,
                **event,
            }
        ],
    }


def json_file(value) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_entry(api, child, body: str):
    url = reverse("api_entry_list", args=[child.public_id])
    return api.post(url, body, content_type="application/json")


def post_import(api, name: str, content: bytes):
    return api.post(
        reverse("api_import"),
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


# Each: how to send it, and a piece of the answer that names the field or row.
SEVEN = {
    "entry body of 100,000 nested brackets": (
        lambda api, child: post_entry(api, child, nested(100_000)),
        "nests more than 32 levels deep",
    ),
    "CSV field containing NUL": (
        lambda api, child: post_import(api, "nul.csv", csv_file("Shoes\x00with holes")),
        "line 2, column 'summary': contains a NUL character",
    ),
    "10 MB CSV field": (
        lambda api, child: post_import(api, "big.csv", csv_file("x" * (10 * MB))),
        "line 2: has a value longer than",
    ),
    "deeply nested JSON import": (
        lambda api, child: post_import(api, "deep.json", nested(100_000).encode()),
        "the file nests more than 32 levels deep",
    ),
    "NUL in an event summary": (
        lambda api, child: post_import(api, "s.json", json_file(document(summary="No\x00food"))),
        "events[0], summary: contains a NUL character",
    ),
    "NUL in a child's name": (
        lambda api, child: post_import(api, "n.json", json_file(document(name="Sam\x00New"))),
        "children[0], name: contains a NUL character",
    ),
    "lone surrogate in a child's name": (
        lambda api, child: post_import(
            api,
            "u.json",
            b'{"format": "chronology-interchange/1", "children": '
            b'[{"ref": "NEW-1", "name": "Sam \\ud800"}]}',
        ),
        "children[0], name: contains a lone surrogate (\\ud800)",
    ),
}


@pytest.mark.parametrize("case", list(SEVEN))
def test_each_of_the_seven_inputs_gets_a_400_naming_its_place_and_saves_nothing(
    api, school_child, case
):
    send, names_place = SEVEN[case]
    before = counts()

    response = send(api, school_child)

    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert names_place in texts(response.json())
    assert counts() == before


def test_an_api_body_over_the_size_limit_gets_a_json_400(api, school_child, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"kind": "note", "event_date": "2026-01-01", "summary": "x" * 2000})
    before = counts()

    response = post_entry(api, school_child, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "too large" in response.json()["detail"]
    assert counts() == before


def test_a_nul_in_an_entry_summary_through_the_api_names_the_field(api, school_child):
    before = counts()
    response = post_entry(
        api,
        school_child,
        json.dumps({"kind": "note", "event_date": "2026-01-01", "summary": "a\x00b"}),
    )
    assert response.status_code == 400
    assert "summary" in response.json()
    assert counts() == before


# --- one date rule on every path --------------------------------------------------------


def tomorrow() -> str:
    return (timezone.localdate() + datetime.timedelta(days=1)).isoformat()


BAD_DATES = {"year 1": "0001-01-01", "1899": "1899-12-31", "tomorrow": None, "2099": "2099-01-01"}


def bad_dates():
    return [pytest.param(day, id=name) for name, day in BAD_DATES.items()]


def resolve(day):
    return day or tomorrow()


@pytest.mark.parametrize("day", bad_dates())
def test_the_entry_api_refuses_a_date_outside_the_rule(api, school_child, day):
    before = counts()
    response = post_entry(
        api,
        school_child,
        json.dumps({"kind": "note", "event_date": resolve(day), "summary": "Seen"}),
    )
    assert response.status_code == 400
    assert "event_date" in response.json()
    assert counts() == before


@pytest.mark.parametrize("day", bad_dates())
def test_the_decision_api_refuses_a_date_outside_the_rule(api, school_child, day):
    before = counts()
    response = api.post(
        reverse("api_decision_create", args=[school_child.public_id]),
        {
            "event_date": resolve(day),
            "decision_type": "strategy_discussion",
            "decision_outcome": "monitor",
            "agencies_present": ["school"],
            "summary": "Met",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "event_date" in response.json()
    assert counts() == before


@pytest.mark.parametrize("day", bad_dates())
def test_an_amendment_refuses_a_date_outside_the_rule(api, bob, school_child, day):
    entry = services.entry_record(
        actor=bob,
        children=[school_child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2026, 1, 5),
        summary="Seen",
    )
    before = counts()
    response = api.post(
        reverse("api_entry_amend", args=[entry.public_id]),
        {"reason": "Wrong date", "event_date": resolve(day)},
        format="json",
    )
    assert response.status_code == 400
    assert "event_date" in response.json()
    assert counts() == before


@pytest.mark.parametrize("day", bad_dates())
def test_a_csv_import_refuses_a_date_outside_the_rule(api, school_child, day):
    before = counts()
    response = post_import(api, "dates.csv", csv_file(date=resolve(day)))
    assert response.status_code == 400
    assert response.json()["file"][0].startswith("line 2, column 'date': ")
    assert counts() == before


@pytest.mark.parametrize("field", ["date", "date_of_birth"])
@pytest.mark.parametrize("day", bad_dates())
def test_a_json_import_refuses_a_date_outside_the_rule(api, school_child, day, field):
    doc = document()
    if field == "date":
        doc["events"][0]["date"] = resolve(day)
    else:
        doc["children"][0]["date_of_birth"] = resolve(day)
    before = counts()
    response = post_import(api, "dates.json", json_file(doc))
    assert response.status_code == 400
    place = "events[0], date" if field == "date" else "children[0] (ref NEW-1), date_of_birth"
    assert response.json()["file"][0].startswith(place), response.json()
    assert counts() == before


@pytest.mark.parametrize("day", bad_dates())
def test_the_entry_form_refuses_a_date_outside_the_rule(client, alice, school_child, day):
    client.force_login(alice)
    before = counts()
    page = client.post(
        reverse("entry_create", args=[school_child.public_id]),
        {"kind": "note", "event_date": resolve(day), "date_precision": "day", "summary": "Seen"},
    ).content.decode()
    assert 'href="#id_event_date"' in page
    assert counts() == before


@pytest.mark.parametrize("day", [datetime.date(1, 1, 1), None])
def test_the_services_refuse_a_date_outside_the_rule(alice, school_child, day):
    from django.core.exceptions import ValidationError

    day = day or timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        services.entry_record(
            actor=alice, children=[school_child], kind=EntryKind.NOTE, event_date=day, summary="x"
        )
    assert "event_date" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.child_create(actor=alice, given_names="Sam", date_of_birth=day)
    assert "date_of_birth" in caught.value.message_dict


def test_the_first_day_of_1900_and_today_are_allowed(alice, school_child):
    for day in (services.DATE_FLOOR, timezone.localdate()):
        services.entry_record(
            actor=alice, children=[school_child], kind=EntryKind.NOTE, event_date=day, summary="x"
        )


def test_every_api_error_is_json_even_where_django_answers(api, monkeypatch):
    from django.test import Client

    from chronology import apis

    assert api.get("/api/v1/no-such-thing/").json() == {"detail": "Not found."}

    def explode(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(apis.ChildListApi, "get", explode)
    client = Client(raise_request_exception=False)
    client.force_login(api.handler._force_user)
    response = client.get(reverse("api_child_list"))
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred."}
    assert "a bug" not in response.content.decode()


def test_a_file_name_that_is_not_text_is_stored_escaped(bob, school_child):
    """A file on disk whose name is not UTF-8 reaches Python as lone surrogates."""
    interchange.import_csv(
        csv_file(),
        file_name="events-\udcff.csv",
        as_agency=bob.agency,
        actor=service_account_get(purpose="import"),
    )

    assert ImportBatch.objects.get().file_name == "events-\\udcff.csv"


def test_a_score_as_of_year_one_is_a_400_naming_the_field(api, school_child):
    url = reverse("api_child_score", args=[school_child.public_id])

    response = api.get(url, {"as_of": "0001-01-01"})

    assert response.status_code == 400
    assert "as_of" in response.json()
