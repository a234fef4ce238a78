"""Importing a file in the browser (issue 17, item 4): upload → preview → confirm →
progress → summary, with the API's rules and audit."""

import datetime
import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agencies.models import Role
from chronology import imports, interchange, services
from chronology.models import (
    AuditEvent,
    Child,
    Entry,
    ImportBatch,
    ImportJob,
    ImportJobStatus,
    Involvement,
)
from chronology.tasks import import_jobs_sweep
from chronology.vocabulary import EntryKind

from ..factories import UserFactory

CSV_HEADER = (
    "date,date_precision,agency,children,kind,categories,severity,summary,child_words,action,status"
)
BORN = datetime.date(2016, 3, 14)


@pytest.fixture
def hana(housing):
    """A safeguarding lead in housing, which does not work with the known child."""
    return UserFactory(username="hana", agency=housing, role=Role.SAFEGUARDING_LEAD)


@pytest.fixture
def known_child(alice, school):
    child = services.child_create(
        actor=alice, given_names="Robin", family_name="Synthetic", ref="EM-B1", date_of_birth=BORN
    )
    services.involvement_grant(actor=alice, child=child, agency=school, reason="Pupil")
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2026, 1, 2),
        summary="Home visit",
    )
    return child


def document(*, agency: str = "sc", bad_date: bool = False) -> bytes:
    """Two events about the known child and one about a new child, all social care's."""
    events = [
        {"ref": "E1", "date": "2026-02-02", "agency": agency, "children": ["EM-B1"],
         "kind": "concern", "categories": ["neglect.nutrition"], "summary": "Hungry"},
        {"ref": "E2", "date": "2026-02-09", "agency": agency, "children": ["EM-B1"],
         "kind": "note", "summary": "Visit"},
        {"ref": "E3", "date": "2013-02-30" if bad_date else "2026-02-10", "agency": agency,
         "children": ["NEW-1"], "kind": "note", "summary": "First visit"},
    ]  # fmt: skip
    return json.dumps(
        {
            "format": interchange.FORMAT,
            "title": "Case E",
            "children": [
                {"ref": "EM-B1", "name": "Robin Synthetic", "date_of_birth": BORN.isoformat()},
                {"ref": "NEW-1", "name": "Sky Example", "date_of_birth": "2019-05-01"},
            ],
            "agencies": [{"ref": agency}],
            "events": events,
        }
    ).encode()


def csv_naming(ref: str, *, agency: str, date: str = "2026-02-02") -> bytes:
    return f"{CSV_HEADER}\n{date},day,{agency},{ref},concern,,2,Rent arrears,,,\n".encode()


def client_for(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def upload(client: Client, name: str, content: bytes):
    return client.post(reverse("import_start"), {"file": SimpleUploadedFile(name, content)})


def upload_job(user, name: str, content: bytes) -> tuple[Client, ImportJob]:
    client = client_for(user)
    response = upload(client, name, content)
    assert response.status_code == 302
    job = ImportJob.objects.get(owner=user, file_name=name)
    assert response["Location"] == reverse("import_detail", args=[job.public_id])
    return client, job


def counts() -> dict[str, int]:
    return {
        "children": Child.objects.count(),
        "entries": Entry.objects.count(),
        "involvements": Involvement.objects.count(),
        "batches": ImportBatch.objects.count(),
    }


def confirm_and_run(client, job, django_capture_on_commit_callbacks) -> ImportJob:
    """Confirm, then do what the worker does after the commit, in this process."""
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("import_confirm", args=[job.public_id]))
    assert response.status_code == 302
    assert len(queued) == 1
    job.refresh_from_db()
    assert job.status == ImportJobStatus.QUEUED
    return imports.import_job_run(job_id=job.pk)


def test_the_preview_lists_the_children_and_entries_the_file_will_add(
    mallory, known_child, django_assert_max_num_queries
):
    before = counts()
    client, job = upload_job(mallory, "case-e.json", document())

    # The session, the user and the job: the preview is stored, not worked out again.
    with django_assert_max_num_queries(3):
        page = client.get(reverse("import_detail", args=[job.public_id]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Check what case-e.json will add" in text
    assert "Sky Example" in text and "New child" in text
    assert "Robin Synthetic" in text and "Already on the system" in text
    assert "Children&#x27;s social care" in text
    assert job.preview["entries"] == 3
    assert {c["ref"]: (c["new"], c["entries"]) for c in job.preview["children"]} == {
        "EM-B1": (False, 2),
        "NEW-1": (True, 1),
    }
    assert "Confirm and import" in text
    assert counts() == before  # a preview saves nothing of the file


def test_the_preview_names_the_row_of_each_error_and_offers_no_confirm(mallory, known_child):
    before = counts()
    client, job = upload_job(mallory, "bad.json", document(bad_date=True))

    text = client.get(reverse("import_detail", args=[job.public_id])).content.decode()

    assert job.status == ImportJobStatus.REFUSED
    assert "events[2] (ref E3), date: &#x27;2013-02-30&#x27; is not a date" in text
    assert "What will be refused" in text
    assert "Confirm and import" not in text
    assert counts() == before


def test_a_csv_error_names_its_line_and_column(mallory, known_child):
    content = csv_naming("EM-B1", agency="sc") + b"2026-02-31,day,sc,EM-B1,note,,,Visit,,,\n"
    _, job = upload_job(mallory, "bad.csv", content)
    assert job.errors == ["line 3, column 'date': '2026-02-31' is not a date (YYYY-MM-DD)"]


def test_events_of_another_agency_are_refused_by_row(mallory, known_child, school):
    _, job = upload_job(mallory, "school.csv", csv_naming("EM-B1", agency="school"))
    assert job.status == ImportJobStatus.REFUSED
    assert job.errors == [
        "line 2, agency: 'school' is not your agency (sc); you import only your own agency's events"
    ]


def test_confirm_imports_the_file_as_the_api_does_and_the_summary_links_each_child(
    mallory, known_child, django_capture_on_commit_callbacks
):
    client, job = upload_job(mallory, "case-e.json", document())

    job = confirm_and_run(client, job, django_capture_on_commit_callbacks)

    assert job.status == ImportJobStatus.DONE
    assert job.done == job.total == 3
    assert bytes(job.content) == b""  # the batch is the record now
    sky = Child.objects.get(ref="NEW-1")
    assert Entry.objects.filter(import_batch=job.batch).count() == 3
    # The API's audit: the service account imports, the person asked.
    assert AuditEvent.objects.filter(action="import", child=sky).get().actor.agency.is_system
    assert AuditEvent.objects.filter(action="import.request", actor=mallory).count() == 2
    text = client.get(reverse("import_detail", args=[job.public_id])).content.decode()
    assert "File imported" in text
    assert "3 entries added from case-e.json" in text
    assert reverse("child_detail", args=[sky.public_id]) in text
    assert reverse("child_detail", args=[known_child.public_id]) in text
    # The new child's page opens for the importer.
    assert client.get(reverse("child_detail", args=[sky.public_id])).status_code == 200


def test_confirm_twice_imports_once(mallory, known_child, django_capture_on_commit_callbacks):
    client, job = upload_job(mallory, "case-e.json", document())
    confirm_and_run(client, job, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("import_confirm", args=[job.public_id]))
    assert queued == []
    assert imports.import_job_run(job_id=job.pk).status == ImportJobStatus.DONE
    assert ImportBatch.objects.count() == 1


def test_the_file_is_checked_again_when_the_import_runs(
    mallory, known_child, django_capture_on_commit_callbacks
):
    client, job = upload_job(mallory, "case-e.json", document())
    # Between the preview and the confirm, the same file comes in through another way.
    interchange.import_document(
        document(), file_name="same.json", as_agency=mallory.agency, actor=mallory
    )
    before = counts()

    job = confirm_and_run(client, job, django_capture_on_commit_callbacks)

    assert job.status == ImportJobStatus.FAILED
    assert "this file was imported before" in job.errors[0]
    assert counts() == before
    text = client.get(reverse("import_detail", args=[job.public_id])).content.decode()
    assert "cannot be imported" in text


def test_a_running_import_shows_entries_done_out_of_the_total(mallory, known_child):
    client, job = upload_job(mallory, "case-e.json", document())
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.QUEUED)

    fragment = client.get(reverse("import_detail", args=[job.public_id]), {"fragment": 1})

    text = fragment.content.decode()
    assert "<html" not in text
    assert "Waiting to start: 0 of 3 entries done." in text
    assert "data-poll=" in text


def test_an_outsiders_existing_ref_is_refused_as_unknown_and_nothing_is_saved(hana, known_child):
    before = counts()
    client, job = upload_job(hana, "attack.csv", csv_naming("EM-B1", agency="housing"))

    assert job.status == ImportJobStatus.REFUSED
    assert job.errors == [
        "line 2, column 'children': no child your agency works with has ref 'EM-B1'"
    ]
    assert bytes(job.content) == b""  # never to be imported: the file is not kept
    (refusal,) = AuditEvent.objects.filter(action="import.refused")
    assert refusal.actor == hana
    assert refusal.details["refs"] == ["EM-B1"]
    # Confirming a refused file queues nothing and saves nothing.
    response = client.post(reverse("import_confirm", args=[job.public_id]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJobStatus.REFUSED
    assert counts() == before
    assert client.get(reverse("child_detail", args=[known_child.public_id])).status_code == 404


def test_another_persons_job_is_a_404(mallory, bob, known_child):
    _, job = upload_job(mallory, "case-e.json", document())
    other = client_for(bob)
    assert other.get(reverse("import_detail", args=[job.public_id])).status_code == 404
    (denied,) = AuditEvent.objects.filter(action="access.denied")
    assert denied.actor == bob
    assert denied.details["asked_for"] == "import_job"
    assert denied.details["url_name"] == "import_detail"
    assert other.post(reverse("import_confirm", args=[job.public_id])).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJobStatus.CHECKED


def test_a_role_that_may_not_import_gets_403_and_no_link(alice, mallory, known_child):
    client = client_for(alice)
    assert client.get(reverse("import_start")).status_code == 403
    assert upload(client, "case-e.json", document()).status_code == 403
    assert not ImportJob.objects.exists()
    assert reverse("import_start") not in client.get(reverse("home")).content.decode()
    assert reverse("import_start") in client_for(mallory).get(reverse("home")).content.decode()


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("import_start"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_no_file_or_the_wrong_kind_of_file_is_named_on_the_form(mallory):
    client = client_for(mallory)
    response = client.post(reverse("import_start"), {})
    assert response.status_code == 400
    assert "Choose a JSON or CSV file to import." in response.content.decode()
    response = upload(client, "notes.txt", b"hello")
    assert response.status_code == 400
    assert "The selected file must be a JSON or CSV file." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_refused_on_the_form(mallory, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = upload(client_for(mallory), "big.csv", b"x" * 200)
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_posts_need_the_csrf_token(mallory, known_child):
    _, job = upload_job(mallory, "case-e.json", document())
    client = client_for(mallory, enforce_csrf_checks=True)
    assert upload(client, "other.json", document(agency="sc")).status_code == 403
    assert client.post(reverse("import_confirm", args=[job.public_id])).status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJobStatus.CHECKED
    # With the form's token, the upload goes through.
    page = client.get(reverse("import_start"))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("import_start"),
        {"file": SimpleUploadedFile("csrf.csv", csv_naming("EM-B1", agency="sc")),
         "csrfmiddlewaretoken": str(token)},
    )  # fmt: skip
    assert response.status_code == 302


def test_a_running_import_shows_its_progress_from_the_worker(mallory, known_child):
    client, job = upload_job(mallory, "case-e.json", document())
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.RUNNING)
    # What the importer's progress callback stores every PROGRESS_EVERY entries.
    cache.set(imports._progress_key(job.pk), (100, 250))

    text = client.get(reverse("import_detail", args=[job.public_id])).content.decode()

    assert "Importing: 100 of 250 entries done." in text
    assert 'value="40"' in text


def test_the_sweep_runs_a_confirmed_import_whose_message_was_lost(
    mallory, known_child, django_capture_on_commit_callbacks
):
    client, job = upload_job(mallory, "case-e.json", document())
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("import_confirm", args=[job.public_id]))
    assert import_jobs_sweep() == 0  # just confirmed: its message may still come

    ImportJob.objects.filter(pk=job.pk).update(
        queued_at=timezone.now() - imports.SWEEP_GRACE - datetime.timedelta(seconds=1)
    )
    assert import_jobs_sweep() == 1

    job.refresh_from_db()
    assert job.status == ImportJobStatus.DONE
    assert import_jobs_sweep() == 0


def test_an_owner_who_may_no_longer_import_when_it_runs_imports_nothing(
    mallory, known_child, django_capture_on_commit_callbacks
):
    client, job = upload_job(mallory, "case-e.json", document())
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("import_confirm", args=[job.public_id]))
    mallory.role = Role.PRACTITIONER
    mallory.save(update_fields=["role"])
    before = counts()

    job = imports.import_job_run(job_id=job.pk)

    assert job.status == ImportJobStatus.FAILED
    assert job.errors == ["you may no longer import files for this agency, so nothing was imported"]
    assert counts() == before


def test_a_checked_file_not_confirmed_within_a_day_is_let_go(mallory, known_child):
    _, old = upload_job(mallory, "old.json", document())
    _, new = upload_job(mallory, "new.csv", csv_naming("EM-B1", agency="sc"))
    ImportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - imports.CHECKED_KEPT - datetime.timedelta(minutes=1)
    )

    import_jobs_sweep()

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, bytes(old.content)) == (ImportJobStatus.FAILED, b"")
    assert "not confirmed within a day" in old.errors[0]
    assert new.status == ImportJobStatus.CHECKED and bytes(new.content)
