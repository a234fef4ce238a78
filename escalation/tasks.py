"""Celery tasks: thin, by id, safe to run twice (STYLE.md).

acks_late with reject_on_worker_lost (settings) means a task whose worker dies
is delivered again; evaluation is idempotent, so that is harmless.
"""

import datetime
import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .models import HeartbeatName
from .services import (
    child_evaluate,
    children_due,
    children_evaluate_due,
    heartbeat_beat,
    ladder_advance_due,
)

logger = logging.getLogger(__name__)

# How long a mark may wait for its queued task before the sweep takes it over.
SWEEP_GRACE = datetime.timedelta(seconds=30)
# Children a batch evaluates in one transaction. A writer marking one of them
# waits for the batch to commit, so a batch is kept to about a second's work.
SWEEP_BATCH = 250
# A sweep goes on batch after batch while children are due, for up to this long,
# then queues its own continuation (rather than leave the worker idle until beat's
# next minute). Evaluations queued by writers meanwhile are taken first, so during
# a county-wide sweep a new entry's alert waits at most about this long, plus a
# batch. At 20 s, alerts raised during the nightly sweep took 15 s (median) in the
# bench; at 1 s, about 1 s. A continuation costs one message.
SWEEP_SECONDS = 1


@shared_task(acks_late=True, reject_on_worker_lost=True)
def child_evaluate_task(child_id: int) -> None:
    child_evaluate(child_id=child_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluations_sweep(fan_out: bool = True) -> int:
    """Evaluate children the queue missed (marked but not evaluated) and children
    whose time-based rules are due. Returns how many this sweep evaluated.

    When more are due than a few batches (a county at night), beat's sweep also
    queues SWEEP_WORKERS - 1 helpers, the same task without fan-out: each worker
    process then sweeps its own batches (children_evaluate_due locks what it
    takes), so the night's work uses every core. A helper that cannot be queued
    is not missed: this sweep carries on alone. A sweep still busy after
    SWEEP_SECONDS queues its own continuation, so the work goes on without
    waiting for beat.

    Beat's own sweep (fan_out) records a heartbeat when it finishes, for /healthz
    and the dashboard. Helpers and continuations do not: they queue one another,
    and would keep the heartbeat fresh through a long night with beat dead."""
    total = _sweep(fan_out)
    if fan_out:
        heartbeat_beat(name=HeartbeatName.SWEEP)
    return total


def _sweep(fan_out: bool) -> int:
    now = timezone.now()
    parallel = settings.SWEEP_WORKERS > 1
    if fan_out and parallel and _many_due(now):
        for _ in range(settings.SWEEP_WORKERS - 1):
            if not _sweep_queue("a helper sweep"):
                break
    started = time.monotonic()
    total = 0
    while True:
        taken, evaluated = _sweep_batch(now)
        total += evaluated
        # Fewer than a batch taken: that was the last free one. None evaluated: what
        # is left is held by others (or failing), and will be there for the next sweep.
        if taken < SWEEP_BATCH or evaluated == 0:
            return total
        if time.monotonic() - started >= SWEEP_SECONDS:
            break
    # Out of time with children still due: carry on in a new task, after whatever
    # was queued meanwhile. If it cannot be queued, beat's next sweep carries on.
    _sweep_queue("a sweep's continuation")
    return total


def _sweep_queue(what: str) -> bool:
    try:
        evaluations_sweep.apply_async(kwargs={"fan_out": False}, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the next beat sweeps
        logger.warning("Could not queue %s; beat's next sweep will go on.", what)
        return False
    return True


def _many_due(now: datetime.datetime) -> bool:
    due = children_due(now=now, grace=SWEEP_GRACE, limit=SWEEP_BATCH * 4)
    return len(due) == SWEEP_BATCH * 4


def _sweep_batch(now: datetime.datetime) -> tuple[int, int]:
    try:
        return children_evaluate_due(now=now, grace=SWEEP_GRACE, limit=SWEEP_BATCH)
    except (OperationalError, InterfaceError):
        raise  # the database is away: nothing to gain child by child
    except Exception:
        # One child's failure must not hold up the rest: one at a time, and a child
        # that fails stays marked, and logged, for the next sweep.
        logger.exception("A sweep batch failed; evaluating its children one at a time")
        due = children_due(now=now, grace=SWEEP_GRACE, limit=SWEEP_BATCH)
        count = 0
        for child_id in due:
            try:
                child_evaluate(child_id=child_id, now=now)
                count += 1
            except Exception:
                logger.exception("Could not evaluate child %s; it stays due", child_id)
        return len(due), count


@shared_task(acks_late=True, reject_on_worker_lost=True)
def ladder_tick() -> int:
    advanced = ladder_advance_due()
    heartbeat_beat(name=HeartbeatName.LADDER)
    return advanced


@shared_task(acks_late=True, reject_on_worker_lost=True)
def backtest_run_task(backtest_id: int) -> None:
    from .backtest import backtest_run

    backtest_run(backtest_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def backtests_sweep() -> int:
    """Start back-tests whose queue message was lost. backtest_run claims each with a
    conditional update, so a back-test also running elsewhere is left alone."""
    from .backtest import backtest_run, backtests_waiting

    waiting = backtests_waiting()
    for backtest_id in waiting:
        backtest_run(backtest_id)
    return len(waiting)
