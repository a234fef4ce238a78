"""In a real browser, with axe-core on each page: a manager imports a file from the
header's link: upload → preview → confirm → progress → summary."""

import datetime
import json

import pytest

from chronology import imports, interchange, services
from chronology.models import Child, Entry, ImportJob, ImportJobStatus
from chronology.vocabulary import EntryKind

from .conftest import assert_accessible
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BORN = datetime.date(2016, 3, 14)


def the_file() -> bytes:
    return json.dumps(
        {
            "format": interchange.FORMAT,
            "title": "Case E",
            "children": [
                {"ref": "EM-B1", "name": "Robin Synthetic", "date_of_birth": BORN.isoformat()},
                {"ref": "NEW-1", "name": "Sky Example", "date_of_birth": "2019-05-01"},
            ],
            "agencies": [{"ref": "sc"}],
            "events": [
                {"date": "2026-02-02", "agency": "sc", "children": ["EM-B1"],
                 "kind": "concern", "categories": ["neglect.nutrition"], "summary": "Hungry"},
                {"date": "2026-02-09", "agency": "sc", "children": ["EM-B1", "NEW-1"],
                 "kind": "note", "summary": "Home visit to both children"},
            ],
        }
    ).encode()  # fmt: skip


def run_the_worker(job: ImportJob) -> None:
    """What the Celery worker does after the confirm commits, done here in the
    test's process so the test does not depend on a worker's timing."""
    imports.import_job_run(job_id=job.pk)


def test_a_manager_previews_confirms_watches_and_reads_the_summary(
    live_server, new_page, alice, mallory
):
    robin = services.child_create(
        actor=alice, given_names="Robin", family_name="Synthetic", ref="EM-B1", date_of_birth=BORN
    )
    services.entry_record(
        actor=alice,
        children=[robin],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2026, 1, 2),
        summary="First visit",
    )
    page = new_page()
    sign_in(page, live_server, "mallory")

    # The header links to the page; sent without a file, the form names the field.
    page.click("nav a:has-text('Import a file')")
    page.wait_for_selector("h1:has-text('Import a chronology file')")
    assert_accessible(page)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".govuk-error-summary")
    assert "Choose a JSON or CSV file to import." in page.inner_text(".govuk-error-summary")
    assert_accessible(page)

    # The preview: what the file adds, nothing saved yet.
    page.set_input_files(
        "#id_file",
        {"name": "case-e.json", "mimeType": "application/json", "buffer": the_file()},
    )
    page.click("main form button[type=submit]")
    page.wait_for_selector("h1:has-text('Check what case-e.json will add')")
    text = page.inner_text("main")
    assert "Sky Example" in text and "New child" in text
    assert "Robin Synthetic" in text and "Already on the system" in text
    assert not Child.objects.filter(ref="NEW-1").exists()
    assert_accessible(page)

    # Confirm: the import waits for the worker, and the page says how far it is.
    page.click("button:has-text('Confirm and import')")
    page.wait_for_selector("h1:has-text('Importing case-e.json')")
    assert "0 of 2 entries done" in page.inner_text("[role=status]")
    assert page.is_visible("a:has-text('Refresh')")  # for a browser without JavaScript
    assert_accessible(page)

    job = ImportJob.objects.get(owner=mallory)
    assert job.status == ImportJobStatus.QUEUED
    run_the_worker(job)

    # The page refreshes itself into the summary.
    page.wait_for_selector("h1:has-text('File imported')", timeout=15_000)
    assert "2 entries added from case-e.json" in page.inner_text("main")
    assert_accessible(page)
    assert Entry.objects.filter(import_batch__isnull=False).count() == 2

    page.click("main a:has-text('Sky Example')")
    page.wait_for_selector("h1:has-text('Sky Example')")
    assert "Home visit to both children" in page.inner_text("main")
