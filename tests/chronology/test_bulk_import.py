"""Bulk import (issue 18, item 2): files written in batches through
services.entries_record_bulk, one audit row and one evaluation of each child per
batch, all or nothing before the first write, resumed after a crash without
writing a batch twice; the command and the browser import on the one path."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.services import service_account_get
from chronology import imports, interchange, services
from chronology.models import (
    AuditEvent,
    Entry,
    EntryChild,
    ImportBatch,
    ImportJob,
    ImportJobStatus,
    Involvement,
)
from escalation import tasks as escalation_tasks
from escalation.models import ChildWatch

CSV_HEADER = (
    "date,date_precision,agency,children,kind,categories,severity,summary,child_words,action,status"
)


@pytest.fixture
def importer(db):
    return service_account_get(purpose="import")


@pytest.fixture
def children(alice, social_care):
    """Three children social care works with (alice records them)."""
    return [
        services.child_create(
            actor=alice, given_names=f"Child{n}", family_name="Bulk", ref=f"BULK-{n}"
        )
        for n in range(3)
    ]


def csv_file(refs_and_counts, *, bad_line: int | None = None, tag: str = "") -> bytes:
    """A CSV of social care concerns: `count` rows about each ref, in turn. The row on
    `bad_line` (a line number of the file) has a date in the future."""
    lines = [CSV_HEADER]
    for ref, count in refs_and_counts:
        for n in range(count):
            day = datetime.date(2024, 1, 1) + datetime.timedelta(days=n)
            if len(lines) + 1 == bad_line:
                day = timezone.localdate() + datetime.timedelta(days=3)
            lines.append(
                f"{day},day,sc,{ref},concern,neglect.nutrition,2,Arrived hungry {tag}{n},,,"
            )
    return ("\n".join(lines) + "\n").encode()


def import_csv(raw: bytes, *, social_care, importer, requested_by=None, **kwargs):
    return interchange.import_csv(
        raw,
        file_name="county.csv",
        as_agency=social_care,
        actor=importer,
        requested_by=requested_by,
        **kwargs,
    )


@pytest.fixture
def queued(monkeypatch):
    """The child ids handed to the broker, in order (the broker is what leaves the
    machine; the evaluation itself is not the point here)."""
    sent: list[int] = []
    monkeypatch.setattr(
        escalation_tasks.child_evaluate_task,
        "apply_async",
        lambda args, **kwargs: sent.append(args[0]),
    )
    return sent


def test_an_import_of_many_events_about_one_child_queues_one_evaluation_of_it(
    children, social_care, importer, queued, django_capture_on_commit_callbacks
):
    child = children[0]
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        import_csv(csv_file([("BULK-0", 120)]), social_care=social_care, importer=importer)

    assert Entry.objects.filter(child_rows__child=child).count() == 120
    assert queued == [child.pk]
    assert ChildWatch.objects.get(child=child).due_since is not None


def test_the_queries_of_an_import_do_not_grow_with_its_entries(
    children, social_care, importer, queued, django_capture_on_commit_callbacks
):
    counts = []
    for n, tag in ((10, "a"), (200, "b")):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            import_csv(
                csv_file([("BULK-0", n), ("BULK-1", n)], tag=tag),
                social_care=social_care,
                importer=importer,
            )
        counts.append(len(queries))

    assert counts[0] == counts[1], counts
    assert counts[1] <= 40, counts


def test_one_transaction_queues_each_child_once_however_many_entries_record_it(
    children, alice, queued, django_capture_on_commit_callbacks
):
    """Escalation's receiver gathers a transaction's children: entries recorded one by
    one in a single transaction queue each child once too."""
    from django.db import transaction

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(5):
            for child in children[:2]:
                services.entry_record(
                    actor=alice,
                    children=[child],
                    kind="note",
                    event_date=datetime.date(2024, 1, 1 + n),
                    summary="Visit",
                )

    assert sorted(queued) == sorted(c.pk for c in children[:2])


def test_each_batch_is_audited_once_and_each_entry_keeps_its_provenance(
    children, social_care, importer, mallory, queued, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BATCH_SIZE = 10
    queued.clear()
    # Each child's ten events fit one batch: three batches, each child in one.
    raw = csv_file([("BULK-0", 10), ("BULK-1", 10), ("BULK-2", 10)])

    with django_capture_on_commit_callbacks(execute=True):
        result = import_csv(raw, social_care=social_care, importer=importer, requested_by=mallory)

    batch = result.batch
    assert (batch.batches_total, batch.batches_done, batch.in_progress) == (3, 3, False)
    audited = list(AuditEvent.objects.filter(action="import.batch").order_by("id"))
    assert [a.details["batch"] for a in audited] == [1, 2, 3]
    assert all(a.object_id == str(batch.public_id) and a.child is None for a in audited)
    assert [a.details["entries"] for a in audited] == [10, 10, 10]
    assert [a.details["rows"] for a in audited] == [[2, 11], [12, 21], [22, 31]]
    assert not AuditEvent.objects.filter(action="entry.record", actor=importer).exists()
    # The file's per-child rows: one "import" for each child, one "import.request".
    assert AuditEvent.objects.filter(action="import").count() == 3
    assert AuditEvent.objects.filter(action="import.request", actor=mallory).count() == 3

    entries = Entry.objects.filter(import_batch=batch)
    assert sorted(entries.values_list("source_row", flat=True)) == list(range(2, 32))
    # Each child evaluated once, after its batch.
    assert sorted(queued) == sorted(c.pk for c in children)


def test_a_bad_row_in_a_later_batch_saves_nothing(
    children, social_care, importer, settings, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 10
    written = []
    real = services.entries_record_bulk
    monkeypatch.setattr(
        services, "entries_record_bulk", lambda **kw: written.append(1) or real(**kw)
    )
    before = (Entry.objects.count(), ImportBatch.objects.count(), AuditEvent.objects.count())

    with pytest.raises(interchange.InterchangeError) as caught:
        import_csv(
            csv_file([("BULK-0", 10), ("BULK-1", 10), ("BULK-2", 10)], bad_line=30),
            social_care=social_care,
            importer=importer,
        )

    assert caught.value.messages == [
        f"line 30, column 'date': '{timezone.localdate() + datetime.timedelta(days=3)}': "
        "The date cannot be in the future."
    ]
    assert written == []
    assert (
        Entry.objects.count(),
        ImportBatch.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_an_import_that_died_between_batches_resumes_without_writing_a_batch_twice(
    children, social_care, importer, settings, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 10
    raw = csv_file([("BULK-0", 10), ("BULK-1", 10), ("BULK-2", 10)])
    real = services.entries_record_bulk
    calls = []

    def dying_in_the_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker was killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "entries_record_bulk", dying_in_the_second_batch)
    with pytest.raises(RuntimeError):
        import_csv(raw, social_care=social_care, importer=importer)
    batch = ImportBatch.objects.get()
    assert (batch.in_progress, batch.batches_done) == (True, 1)
    assert Entry.objects.filter(import_batch=batch).count() == 10

    # The same file again (a redelivered task, the command run again) resumes.
    settings.IMPORT_BATCH_SIZE = 7  # the batch keeps the size it was cut with
    result = import_csv(raw, social_care=social_care, importer=importer)

    assert result.batch == batch and result.entries == 30
    batch.refresh_from_db()
    assert (batch.in_progress, batch.batches_done) == (False, 3)
    rows = list(Entry.objects.filter(import_batch=batch).values_list("source_row", flat=True))
    assert sorted(rows) == list(range(2, 32))  # every row once
    assert AuditEvent.objects.filter(action="import.batch").count() == 3
    assert AuditEvent.objects.filter(action="import").count() == 3

    # Finished, it is an ordinary file imported before.
    with pytest.raises(interchange.InterchangeError, match="this file was imported before"):
        import_csv(raw, social_care=social_care, importer=importer)


def test_a_resumed_import_still_keeps_to_the_access_rule(
    children, social_care, importer, alice, settings, monkeypatch
):
    """An involvement ended between two batches stops the import at the next batch."""
    settings.IMPORT_BATCH_SIZE = 10
    raw = csv_file([("BULK-0", 10), ("BULK-1", 10)])
    real = services.entries_record_bulk
    calls = []

    def ending_the_involvement_after_the_first_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(**kwargs)

    monkeypatch.setattr(
        services, "entries_record_bulk", ending_the_involvement_after_the_first_batch
    )
    with pytest.raises(RuntimeError):
        import_csv(raw, social_care=social_care, importer=importer)
    Involvement.objects.filter(child=children[1], agency=social_care).update(
        started_on=timezone.localdate() - datetime.timedelta(days=10),
        ended_on=timezone.localdate() - datetime.timedelta(days=1),
    )

    with pytest.raises(interchange.InterchangeError) as caught:
        import_csv(raw, social_care=social_care, importer=importer)

    assert "no child your agency works with has ref 'BULK-1'" in caught.value.messages[0]
    assert not EntryChild.objects.filter(child=children[1]).exists()


def test_the_command_and_the_browser_import_write_through_the_same_bulk_service(
    children, social_care, mallory, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    real = services.entries_record_bulk
    batches = []
    monkeypatch.setattr(
        services,
        "entries_record_bulk",
        lambda **kw: batches.append(kw["import_batch"].file_name) or real(**kw),
    )
    path = tmp_path / "by-command.csv"
    path.write_bytes(csv_file([("BULK-0", 5)], tag="command"))
    call_command(
        "import_chronology", str(path), "--as-agency", "sc", "--user", "mallory",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip

    job = imports.import_job_create(
        actor=mallory, raw=csv_file([("BULK-1", 5)], tag="page"), file_name="by-page.csv"
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert imports.import_job_confirm(actor=mallory, job=job)
    job = imports.import_job_run(job_id=job.pk)

    assert job.status == ImportJobStatus.DONE, job.errors
    assert batches == ["by-command.csv", "by-page.csv"]
    assert AuditEvent.objects.filter(action="import.batch").count() == 2


def test_a_browser_import_left_running_by_a_dead_worker_is_resumed_by_the_next_run(
    children, social_care, mallory, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.IMPORT_BATCH_SIZE = 10
    job = imports.import_job_create(
        actor=mallory,
        raw=csv_file([("BULK-0", 10), ("BULK-1", 10), ("BULK-2", 10)]),
        file_name="county.csv",
    )
    with django_capture_on_commit_callbacks(execute=False):
        imports.import_job_confirm(actor=mallory, job=job)
    real = services.entries_record_bulk
    calls = []

    def dying_in_the_third_batch(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "entries_record_bulk", dying_in_the_third_batch)
    with pytest.raises(RuntimeError):
        imports.import_job_run(job_id=job.pk)
    assert ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.RUNNING

    job = imports.import_job_run(job_id=job.pk)  # the message delivered again

    assert job.status == ImportJobStatus.DONE, job.errors
    assert job.done == 30
    assert Entry.objects.filter(import_batch=job.batch).count() == 30
    assert AuditEvent.objects.filter(action="import.batch").count() == 3


def test_a_change_rolled_back_does_not_swallow_the_queueing_of_the_next(
    children, alice, queued, django_capture_on_commit_callbacks
):
    """The children gathered for after the commit go with their callback: once a
    rollback drops it, the next change queues its child afresh."""
    from django.db import transaction

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.entry_record(
                actor=alice,
                children=[children[0]],
                kind="note",
                event_date=datetime.date(2024, 1, 1),
                summary="Visit",
            )
            raise RuntimeError("rolled back")
        services.entry_record(
            actor=alice,
            children=[children[1]],
            kind="note",
            event_date=datetime.date(2024, 1, 2),
            summary="Visit",
        )

    assert queued == [children[1].pk]
