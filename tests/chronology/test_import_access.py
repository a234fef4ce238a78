"""Imports never grant access (issue 14, item 1).

The attack: a safeguarding lead of an agency not involved with a child imports a
file naming the child's ref, which is guessable. Before, the import answered 201
and the child's record could be read afterwards; a JSON document with a wrong date
of birth was refused with the real one in the message."""

import datetime
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from agencies.models import Role
from agencies.services import service_account_get
from chronology import interchange, services
from chronology.models import AuditEvent, Child, Entry, ImportBatch, Involvement
from chronology.vocabulary import EntryKind

from ..factories import UserFactory

CSV_HEADER = (
    "date,date_precision,agency,children,kind,categories,severity,summary,child_words,action,status"
)
BORN = datetime.date(2016, 3, 14)


@pytest.fixture
def hana(housing):
    """The outsider: a safeguarding lead in housing, which does not work with the child."""
    return UserFactory(username="hana", agency=housing, role=Role.SAFEGUARDING_LEAD)


@pytest.fixture
def known_child(alice, school):
    """A child social care and the school work with, with a ref and a few entries."""
    child = services.child_create(
        actor=alice, given_names="Robin", family_name="Synthetic", ref="EM-B1", date_of_birth=BORN
    )
    services.involvement_grant(actor=alice, child=child, agency=school, reason="Pupil")
    for day in (1, 2, 3):
        services.entry_record(
            actor=alice,
            children=[child],
            kind=EntryKind.NOTE,
            event_date=datetime.date(2026, 1, day),
            summary="Home visit",
        )
    return child


def counts() -> dict[str, int]:
    return {
        "children": Child.objects.count(),
        "entries": Entry.objects.count(),
        "involvements": Involvement.objects.count(),
        "batches": ImportBatch.objects.count(),
        "audit": AuditEvent.objects.exclude(action="import.refused").count(),
    }


def post_import(user, name: str, content: bytes):
    api = APIClient()
    api.force_authenticate(user)
    return api.post(
        reverse("api_import"),
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def csv_naming(ref: str, agency: str = "housing") -> bytes:
    return f"{CSV_HEADER}\n2026-02-02,day,{agency},{ref},concern,,2,Rent arrears,,,\n".encode()


def document_naming(ref: str, *, name: str, born: datetime.date, agency: str = "housing") -> bytes:
    return json.dumps(
        {
            "format": interchange.FORMAT,
            "children": [{"ref": ref, "name": name, "date_of_birth": born.isoformat()}],
            "agencies": [{"ref": agency}],
            "events": [
                {
                    "date": "2026-02-02",
                    "agency": agency,
                    "children": [ref],
                    "kind": "concern",
                    "summary": "Rent arrears",
                }
            ],
        }
    ).encode()


def child_detail_status(user, child) -> int:
    api = APIClient()
    api.force_authenticate(user)
    return api.get(reverse("api_child_detail", args=[child.public_id])).status_code


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="import.refused"))


def test_an_outsiders_csv_naming_an_existing_child_is_refused_as_if_the_ref_were_unknown(
    hana, known_child
):
    unknown = post_import(hana, "unknown.csv", csv_naming("EM-Z9"))
    before = counts()

    response = post_import(hana, "attack.csv", csv_naming("EM-B1"))

    assert response.status_code == 400
    assert response.json() == {
        "file": [m.replace("EM-Z9", "EM-B1") for m in unknown.json()["file"]]
    }
    assert response.json() == {
        "file": ["line 2, column 'children': no child your agency works with has ref 'EM-B1'"]
    }
    assert counts() == before
    assert child_detail_status(hana, known_child) == 404
    (row,) = refusals()  # the unknown ref is an ordinary mistake, not audited as a refusal
    assert row.actor == hana
    assert row.child is None
    assert row.details["refs"] == ["EM-B1"]
    assert row.details["format"] == "csv"


@pytest.mark.parametrize("born", [BORN, datetime.date(2015, 1, 1)], ids=["right", "wrong"])
@pytest.mark.parametrize("name", ["Robin Synthetic", "Someone Else"], ids=["name", "other"])
def test_an_outsiders_json_naming_an_existing_child_gets_one_answer_that_reveals_nothing(
    hana, known_child, born, name
):
    before = counts()

    response = post_import(hana, "attack.json", document_naming("EM-B1", name=name, born=born))

    assert response.status_code == 400
    assert response.json() == {
        "file": [
            "children[0] (ref EM-B1), ref: no child your agency works with has ref 'EM-B1', "
            "and a new child cannot be given it; use another ref"
        ]
    }
    text = response.content.decode()
    assert BORN.isoformat() not in text and "Robin" not in text and "Synthetic" not in text
    assert counts() == before
    assert child_detail_status(hana, known_child) == 404
    assert len(refusals()) == 1


def test_a_refused_import_saves_nothing_even_with_other_children_that_would_be_new(
    hana, known_child
):
    document = json.loads(document_naming("EM-B1", name="Robin Synthetic", born=BORN))
    document["children"].append({"ref": "NEW-1", "name": "Sam New"})
    document["events"][0]["children"] = ["EM-B1", "NEW-1"]
    before = counts()

    response = post_import(hana, "mixed.json", json.dumps(document).encode())

    assert response.status_code == 400
    assert counts() == before
    assert not Child.objects.filter(ref="NEW-1").exists()


def test_an_involved_agency_adds_to_its_child_without_any_new_involvement(bob, known_child):
    involvements = list(Involvement.objects.filter(child=known_child).values_list("pk", flat=True))

    response = post_import(bob, "school.csv", csv_naming("EM-B1", agency="school"))

    assert response.status_code == 201, response.json()
    assert Entry.objects.filter(children=known_child).count() == 4
    assert list(Involvement.objects.filter(child=known_child).values_list("pk", flat=True)) == (
        involvements
    )


def test_a_service_account_import_never_involves_another_agency_with_an_existing_child(
    social_care, housing, known_child
):
    """A JSON document may hold other agencies' events (service accounts only). For a
    child the file creates, each such agency is involved; for an existing one, none."""
    raw = document_naming("EM-B1", name="Robin Synthetic", born=BORN, agency="housing")

    interchange.import_document(
        raw,
        file_name="multi.json",
        as_agency=social_care,
        actor=service_account_get(purpose="import"),
    )

    assert Entry.objects.filter(children=known_child).count() == 4
    assert not Involvement.objects.filter(child=known_child, agency__code="housing").exists()


def test_a_child_the_import_creates_is_involved_with_the_importing_agency(hana, housing):
    response = post_import(hana, "new.json", document_naming("NEW-1", name="Sam New", born=BORN))

    assert response.status_code == 201, response.json()
    child = Child.objects.get(ref="NEW-1")
    assert Involvement.objects.filter(child=child, agency=housing).count() == 1
    assert child_detail_status(hana, child) == 200


def test_an_ended_involvement_no_longer_lets_an_import_in(bob, school, known_child):
    involvement = Involvement.objects.get(child=known_child, agency=school)
    services.involvement_end(actor=bob, involvement=involvement, reason="Left the school")
    before = counts()

    response = post_import(bob, "late.csv", csv_naming("EM-B1", agency="school"))

    assert response.status_code == 400
    assert counts() == before
    assert len(refusals()) == 1


def run_import(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_chronology", str(path), *args, stdout=out, stderr=err)
    return out.getvalue()


def test_the_import_command_refuses_an_outsiders_file_the_same_way(tmp_path, hana, known_child):
    path = tmp_path / "attack.csv"
    path.write_bytes(csv_naming("EM-B1"))
    before = counts()

    with pytest.raises(CommandError) as caught:
        run_import(path, "--as-agency", "housing", "--user", "hana")

    assert "no child your agency works with has ref 'EM-B1'" in str(caught.value)
    assert counts() == before
    (row,) = refusals()
    assert row.actor == hana


def test_the_import_command_acts_only_for_a_lead_or_manager_of_the_agency(
    tmp_path, alice, hana, known_child
):
    path = tmp_path / "attack.csv"
    path.write_bytes(csv_naming("EM-B1"))

    with pytest.raises(CommandError, match="hana cannot import for sc"):
        run_import(path, "--as-agency", "sc", "--user", "hana")
    with pytest.raises(CommandError, match="alice cannot import for sc"):
        run_import(path, "--as-agency", "sc", "--user", "alice")
    with pytest.raises(CommandError, match="No active user has the username 'nobody'"):
        run_import(path, "--as-agency", "sc", "--user", "nobody")
    assert refusals() == []
