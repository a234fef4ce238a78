"""Celery tasks: thin, by id, safe to run twice (STYLE.md).

acks_late with reject_on_worker_lost (settings) means a task whose worker dies
is delivered again; evaluation is idempotent, so that is harmless.
"""

import datetime
import logging
import time

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .models import ChildWatch
from .services import child_evaluate, children_evaluate, ladder_advance_due, watches_due_all

logger = logging.getLogger(__name__)

# How long a mark may wait for its queued task before the sweep takes it over.
SWEEP_GRACE = datetime.timedelta(seconds=30)
# Children a batch evaluates in one transaction. A writer marking one of them
# waits for the batch to commit, so a batch is kept to about a second's work.
SWEEP_BATCH = 250
# A sweep goes on batch after batch while children are due, for up to this long:
# less than beat's minute, so a whole county's re-evaluation (a new rule set, a
# night of timers) is worked through by successive sweeps rather than by one a
# minute of 250 children.
SWEEP_SECONDS = 50


@shared_task(acks_late=True, reject_on_worker_lost=True)
def child_evaluate_task(child_id: int) -> None:
    child_evaluate(child_id=child_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluations_sweep() -> int:
    """Evaluate children the queue missed (marked but not evaluated) and children
    whose time-based rules are due. Returns how many were evaluated."""
    now = timezone.now()
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < SWEEP_SECONDS:
        due = children_due(now, SWEEP_BATCH)
        evaluated = _sweep_batch(due, now)
        total += evaluated
        # Fewer than a batch due: that was the last. None evaluated: what is left is
        # held by others (or failing), and will be there for the next sweep.
        if len(due) < SWEEP_BATCH or evaluated == 0:
            break
    return total


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluations_nightly() -> int:
    """Make every watched child due: scores fade day by day, so a level, and the
    totals a child's page shows, hold only for the day they were worked out."""
    return watches_due_all(now=timezone.now())


def children_due(now: datetime.datetime, limit: int) -> list[int]:
    """Up to `limit` children due: those the queue missed first, then those whose
    timers ran out. Two queries, each along its own index. One query with OR
    scanned every watch due, again for every batch: with a county due at night,
    that is the sweep's own cost growing with the square of the county."""
    marked = list(
        ChildWatch.objects.filter(due_since__lte=now - SWEEP_GRACE)
        .order_by("due_since")
        .values_list("child_id", flat=True)[:limit]
    )
    if len(marked) == limit:
        return marked
    timed = ChildWatch.objects.filter(next_check_at__lte=now).order_by("next_check_at")
    due = dict.fromkeys(marked)  # a child both marked and timed is evaluated once
    due.update(dict.fromkeys(timed.values_list("child_id", flat=True)[:limit]))
    return list(due)[:limit]


def _sweep_batch(due: list[int], now: datetime.datetime) -> int:
    try:
        return children_evaluate(due, now=now)
    except (OperationalError, InterfaceError):
        raise  # the database is away: nothing to gain child by child
    except Exception:
        # One child's failure must not hold up the rest: one at a time, and a child
        # that fails stays marked, and logged, for the next sweep.
        logger.exception("A sweep batch failed; evaluating its children one at a time")
        count = 0
        for child_id in due:
            try:
                child_evaluate(child_id=child_id, now=now)
                count += 1
            except Exception:
                logger.exception("Could not evaluate child %s; it stays due", child_id)
        return count


@shared_task(acks_late=True, reject_on_worker_lost=True)
def ladder_tick() -> int:
    return ladder_advance_due()


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
