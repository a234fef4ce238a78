"""Celery tasks for the chronology: thin, by id, safe to run twice (STYLE.md)."""

from celery import shared_task

from .imports import import_job_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> None:
    import_job_run(job_id=job_id)
