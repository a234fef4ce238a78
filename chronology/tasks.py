"""Celery tasks for the chronology: thin, by id, safe to run twice (STYLE.md)."""

from celery import shared_task

from .imports import import_job_run, import_jobs_expire, import_jobs_waiting


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> None:
    import_job_run(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_jobs_sweep() -> int:
    """Run confirmed imports whose message was lost. Each run claims its job first,
    so a job that a worker has meanwhile taken is left to it. Also lets go of files
    checked but never confirmed (imports.import_jobs_expire)."""
    import_jobs_expire()
    waiting = import_jobs_waiting()
    for job_id in waiting:
        import_job_run(job_id=job_id)
    return len(waiting)
