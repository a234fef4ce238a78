"""Importing a file in the browser: upload, preview, confirm, progress, summary.

A thin layer over chronology.interchange, which does every check and every write:
the preview is interchange.import_preview (a dry run of the same planning code),
and the import is interchange.import_document / import_csv, run by a worker as a
service account on the person's behalf, exactly as the API does, so the same rules
(only managers and safeguarding leads, only their own agency's events, only
children their agency already works with, all or nothing) and the same audit rows
apply.

The file waits between preview and confirm in an ImportJob row that only its owner
can open. The import commits batch by batch (docs/bulk-import.md); its progress is
kept in the cache (Redis), updated as each batch commits.
"""

import datetime
import logging

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from agencies.models import Role
from agencies.services import service_account_get

from . import interchange
from .audit import access_refused, audit_record
from .models import ImportJob, ImportJobStatus
from .validators import printable

logger = logging.getLogger(__name__)

IMPORT_ROLES = (Role.MANAGER, Role.SAFEGUARDING_LEAD)
# How long a running import's progress is kept in the cache after its last update.
PROGRESS_SECONDS = 6 * 60 * 60


def user_may_import(user) -> bool:
    """Who imports files: managers and safeguarding leads. The one home of the rule;
    the API, the import page and the command all ask here."""
    return user.is_authenticated and user.role in IMPORT_ROLES


def _require_importer(user) -> None:
    if not user_may_import(user):
        raise PermissionDenied("Only managers and safeguarding leads import files.")


def file_format_of(file_name: str) -> str:
    return "csv" if file_name.lower().endswith(".csv") else "json"


def _preview(job: ImportJob) -> interchange.ImportPreview:
    return interchange.import_preview(
        bytes(job.content),
        file_name=job.file_name,
        file_format=job.file_format,
        as_agency=job.agency,
        actor=service_account_get(purpose="import"),
        requested_by=job.owner,
        only_agency=job.agency,
    )


def import_job_create(*, actor, raw: bytes, file_name: str) -> ImportJob:
    """Keep an uploaded file and check it (a dry run; nothing of it is written).

    Guarantees: only a manager or safeguarding lead may upload (PermissionDenied);
    the job holds the file, its sha256 and the preview, CHECKED when the file may be
    imported and REFUSED with the errors, each naming its row, when it may not. A
    file naming a child the agency does not work with is audited "import.refused"
    by the dry run, as by an import."""
    _require_importer(actor)
    interchange.size_check(len(raw))
    with transaction.atomic():
        job = ImportJob(
            owner=actor,
            agency=actor.agency,
            file_name=printable(file_name)[: interchange.FILE_NAME_MAX],
            file_format=file_format_of(file_name),
            content=raw,
        )
        preview = _preview(job)
        job.sha256 = preview.sha256
        job.preview = preview.as_json()
        job.errors = preview.errors
        job.total = preview.entries
        job.status = ImportJobStatus.CHECKED if preview.ok else ImportJobStatus.REFUSED
        if not preview.ok:
            # Never imported, so never needed again: the errors are kept, not the file.
            job.content = b""
        job.save()
        audit_record(
            actor=actor,
            action="import.upload",
            obj=job,
            details={"file_name": job.file_name, "sha256": job.sha256, "ok": preview.ok},
        )
    return job


def import_job_get_for_user(*, user, public_id) -> ImportJob:
    """The user's own import job; anyone else's (or none) is a 404."""
    try:
        return ImportJob.objects.select_related("agency", "batch").get(
            public_id=public_id, owner=user
        )
    except ImportJob.DoesNotExist:
        # A guess at someone else's upload is a refused read like any other.
        access_refused(user=user, asked_for="import_job", public_id=public_id)
        raise Http404("No import found") from None


def import_jobs_for_user(*, user, limit: int = 10) -> list[ImportJob]:
    return list(ImportJob.objects.filter(owner=user).defer("content")[:limit])


def import_job_confirm(*, actor, job: ImportJob) -> bool:
    """Queue a checked job for the worker. Safe to send twice: only the request that
    moves it from CHECKED to QUEUED queues it. Returns whether this one did."""
    _require_importer(actor)
    if job.owner_id != actor.pk:
        raise Http404("No import found")
    if job.agency_id != actor.agency_id:
        # Checked for their old agency: they import only for the one they are in now.
        raise PermissionDenied("This file was checked for another agency.")
    with transaction.atomic():
        moved = ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.CHECKED).update(
            status=ImportJobStatus.QUEUED, queued_at=timezone.now()
        )
        if moved:
            transaction.on_commit(lambda: _queue(job.pk))
    return bool(moved)


def _queue(job_id: int) -> None:
    from .tasks import import_job_run_task

    try:
        import_job_run_task.apply_async((job_id,), retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the sweep runs it
        logger.warning("Could not queue import job %s; the sweep will run it.", job_id)


# A confirmed job still waiting this long lost its message (the broker was down, or
# the worker died before taking it): beat's sweep runs it.
SWEEP_GRACE = datetime.timedelta(minutes=1)


# A checked file not confirmed within this long is let go: its preview may be stale,
# and an upload nobody imports should not keep a family's records here.
CHECKED_KEPT = datetime.timedelta(days=1)


def import_jobs_expire(*, now: datetime.datetime | None = None) -> int:
    """Empty the files of checked jobs not confirmed within CHECKED_KEPT. Returns how
    many. A conditional update: a job confirmed meanwhile is left alone."""
    now = now or timezone.now()
    return ImportJob.objects.filter(
        status=ImportJobStatus.CHECKED, created_at__lt=now - CHECKED_KEPT
    ).update(
        status=ImportJobStatus.FAILED,
        content=b"",
        errors=["not confirmed within a day, so not imported; upload the file again"],
        finished_at=now,
    )


def import_jobs_waiting(*, now: datetime.datetime | None = None) -> list[int]:
    """Ids of jobs confirmed more than SWEEP_GRACE ago and not started."""
    now = now or timezone.now()
    return list(
        ImportJob.objects.filter(
            status=ImportJobStatus.QUEUED, queued_at__lt=now - SWEEP_GRACE
        ).values_list("pk", flat=True)
    )


def _progress_key(job_id: int) -> str:
    return f"import-job-progress:{job_id}"


def import_job_progress(job: ImportJob) -> tuple[int, int]:
    """(entries done, total) of a job: from the cache while it runs."""
    if job.status == ImportJobStatus.RUNNING:
        done, total = cache.get(_progress_key(job.pk), (0, job.total))
        return done, total
    return job.done, job.total


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued import (the worker's task). Safe to run twice: one run at a time
    holds the file (interchange.file_lock); another returns at once. A job left
    RUNNING by a run that died is resumed where its committed batches end.

    Guarantees: the file is checked again (a dry run) and then imported by
    interchange, all or nothing, as a service account on the owner's behalf, as
    through the API; the job ends DONE with the batch and the children written, or
    FAILED with the errors. A file its checks refuse saves nothing; one stopped
    between two batches (an involvement ended meanwhile) keeps the batches already
    committed, and the same file imported again resumes after them."""
    job = ImportJob.objects.select_related("owner", "agency").get(pk=job_id)
    with interchange.file_lock(job.sha256) as ours:
        if not ours:
            return job  # another run holds the file and will finish the job
        return _run(job)


def _run(job: ImportJob) -> ImportJob:
    # A RUNNING job whose run died (a worker killed mid-import) is taken over: the
    # import resumes after the batches that run committed.
    claimed = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportJobStatus.QUEUED, ImportJobStatus.RUNNING]
    ).update(status=ImportJobStatus.RUNNING)
    if not claimed:
        job.refresh_from_db()
        return job
    try:
        owner = job.owner
        if not (owner.is_active and user_may_import(owner) and owner.agency_id == job.agency_id):
            raise interchange.InterchangeError(
                ["you may no longer import files for this agency, so nothing was imported"]
            )
        preview = _preview(job)
        if not preview.ok:
            raise interchange.InterchangeError(preview.errors)
        importer = (
            interchange.import_csv if job.file_format == "csv" else interchange.import_document
        )
        result = importer(
            bytes(job.content),
            file_name=job.file_name,
            as_agency=job.agency,
            actor=service_account_get(purpose="import"),
            requested_by=job.owner,
            progress=lambda done, total: cache.set(
                _progress_key(job.pk), (done, total), PROGRESS_SECONDS
            ),
        )
    except interchange.InterchangeError as exc:
        job.status = ImportJobStatus.FAILED
        job.errors = exc.messages
        job.content = b""
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "errors", "content", "finished_at"])
        return job
    # The preview made at upload: on a resumed run, children the first run created
    # already exist, and were still new to the person who confirmed the file.
    planned = job.preview.get("children") or preview.as_json()["children"]
    per_child = {c["ref"]: c["entries"] for c in planned}
    new_refs = {c["ref"] for c in planned if c["new"]}
    job.status = ImportJobStatus.DONE
    job.batch = result.batch
    job.done = job.total = result.entries
    job.result = {
        "children": [
            {
                "public_id": str(child.public_id),
                "name": child.full_name,
                "new": ref in new_refs,
                "entries": per_child.get(ref, 0),
            }
            for ref, child in result.children.items()
        ],
        "entries": result.entries,
    }
    # The batch and its entries are the record now; the upload need not be kept.
    job.content = b""
    job.finished_at = timezone.now()
    job.save()
    cache.delete(_progress_key(job.pk))
    return job
