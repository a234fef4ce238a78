"""/healthz: whether the app can do its work, for load balancers, monitoring and
operators. Unauthenticated, so it says nothing about anyone: service states and
job ages only, in codes.

200 when the database and the broker answer and the evaluation sweep and the
escalation ladder have each run within HEARTBEAT_MAX_AGE seconds; otherwise 503,
with `problems` naming what is wrong. A worker or beat that died shows here as a
stale job even though every process that is left looks healthy.
"""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from escalation.selectors import background_jobs_status

logger = logging.getLogger(__name__)

# Seconds to wait for the broker: /healthz must answer quickly even when it is down.
BROKER_TIMEOUT = 2


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("healthz: the database did not answer", exc_info=True)
        return False
    return True


def _broker_ok() -> bool:
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(
                url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT
            )
            try:
                return bool(client.ping())
            finally:
                client.close()
        # Another transport (the file-system broker of `make run`): kombu connects.
        from safeguarding.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
        return True
    except Exception:  # noqa: BLE001 - any failure to reach the broker is "down"
        logger.warning("healthz: the broker did not answer", exc_info=True)
        return False


@never_cache
@require_GET
def healthz(request):
    problems = []
    database = _database_ok()
    broker = _broker_ok()
    if not database:
        problems.append("database")
    if not broker:
        problems.append("broker")
    jobs = {}
    if database:
        for job in background_jobs_status():
            jobs[job.name] = {"age_seconds": job.age_seconds, "stale": job.stale}
            if job.stale:
                problems.append(f"{job.name}_stale")
    body = {
        "status": "fail" if problems else "ok",
        "database": "ok" if database else "unavailable",
        "broker": "ok" if broker else "unavailable",
        "jobs": jobs,
        "max_age_seconds": settings.HEARTBEAT_MAX_AGE,
        "problems": problems,
    }
    return JsonResponse(body, status=503 if problems else 200)
