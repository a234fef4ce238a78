"""A worker killed in the middle of a bulk import (issue 18, item 2): once the
import's message is delivered again, every entry of the file is stored exactly
once, and every child of the file has been evaluated after its entries landed."""

import datetime

import pytest
from django.db.models import Count
from django.utils import timezone

from chronology import imports
from chronology.models import Child, Entry, ImportBatch, ImportJob, ImportJobStatus, Involvement
from chronology.tasks import import_job_run_task
from escalation.models import ChildWatch
from tests.factories import AgencyFactory, UserFactory

from .conftest import wait_until
from .test_faults import sweep_once

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_defaults"),
]

CHILDREN = 100
PER_CHILD = 40
BATCH = 40  # one child a batch: a hundred commits to kill the worker between


@pytest.fixture
def manager(db):
    agency = AgencyFactory(code="BULKSC", name="Social care (bulk faults)", kind="social_care")
    return UserFactory(username="mina", agency=agency, role="manager")


def county(manager) -> list[Child]:
    children = Child.objects.bulk_create(
        Child(given_names=f"Child {i}", family_name="Bulk", ref=f"BF-{i:03d}")
        for i in range(CHILDREN)
    )
    Involvement.objects.bulk_create(
        Involvement(
            child=c,
            agency=manager.agency,
            started_on=timezone.localdate() - datetime.timedelta(days=400),
            reason="Fault test",
            created_by=manager,
        )
        for c in children
    )
    return children


def legacy_file(children) -> bytes:
    lines = [
        "date,date_precision,agency,children,kind,categories,severity,summary,child_words,"
        "action,status"
    ]
    for child in children:
        for n in range(PER_CHILD):
            day = timezone.localdate() - datetime.timedelta(days=30 + 7 * n)
            lines.append(
                f"{day},day,BULKSC,{child.ref},concern,neglect.health,2,Legacy record {n},,,"
            )
    return ("\n".join(lines) + "\n").encode()


def test_a_worker_killed_mid_import_stores_each_entry_once_and_evaluates_every_child(
    manager, broker, start_worker, monkeypatch
):
    monkeypatch.setenv("IMPORT_BATCH_SIZE", str(BATCH))  # read by the worker's settings
    children = county(manager)
    total = CHILDREN * PER_CHILD
    job = imports.import_job_create(
        actor=manager, raw=legacy_file(children), file_name="county.csv"
    )
    assert job.status == ImportJobStatus.CHECKED, job.errors

    first = start_worker()
    assert imports.import_job_confirm(actor=manager, job=job)  # queued on commit

    def batches_done() -> int:
        batch = ImportBatch.objects.filter(sha256=job.sha256).first()
        return batch.batches_done if batch else 0

    assert wait_until(lambda: batches_done() >= 3, 120, 0.01), first.log()
    first.kill()
    batch = ImportBatch.objects.get(sha256=job.sha256)
    assert batch.in_progress and 3 <= batch.batches_done < batch.batches_total, (
        "the kill must land mid-import"
    )
    assert ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.RUNNING
    orphaned = broker.unacked()
    assert orphaned, "the import's message was taken and never acknowledged"

    # The orphaned message delivered again (acks_late, reject_on_worker_lost: what
    # Redis does after its visibility timeout), to a new worker.
    start_worker()
    import_job_run_task.apply_async((job.pk,))
    assert wait_until(
        lambda: ImportJob.objects.get(pk=job.pk).status != ImportJobStatus.RUNNING, 300, 0.2
    )
    job.refresh_from_db()
    assert job.status == ImportJobStatus.DONE, job.errors
    assert wait_until(lambda: broker.waiting() == 0, 180, 0.2), "the worker did not drain"
    # Evaluations the dead worker had taken are caught by the sweep, from their marks.
    sweep_once()

    batch.refresh_from_db()
    assert not batch.in_progress and batch.batches_done == batch.batches_total
    entries = Entry.objects.filter(import_batch=batch)
    assert entries.count() == total
    twice = entries.values("source_row").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists(), "a row was stored twice"
    assert entries.values("source_row").distinct().count() == total

    watches = ChildWatch.objects.filter(child__in=children)
    assert watches.count() == CHILDREN, "a child of the file was never marked"
    assert not watches.filter(due_since__isnull=False).exists(), "an evaluation never ran"
    assert not watches.filter(evaluated_at__lt=batch.created_at).exists()
    assert not watches.filter(evaluated_at__isnull=True).exists()
