"""Celery tasks: thin, by id, safe to run twice (STYLE.md).

acks_late with reject_on_worker_lost (settings) means a task whose worker dies
is delivered again; evaluation is idempotent, so that is harmless.
"""

import datetime

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from .models import ChildWatch
from .services import child_evaluate, ladder_advance_due

# How long a mark may wait for its queued task before the sweep takes it over.
SWEEP_GRACE = datetime.timedelta(seconds=30)
SWEEP_BATCH = 500


@shared_task(acks_late=True, reject_on_worker_lost=True)
def child_evaluate_task(child_id: int) -> None:
    child_evaluate(child_id=child_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluations_sweep() -> int:
    """Evaluate children the queue missed (marked but not evaluated) and children
    whose time-based rules are due. Returns how many were evaluated."""
    now = timezone.now()
    due = ChildWatch.objects.filter(
        Q(due_since__lte=now - SWEEP_GRACE) | Q(next_check_at__lte=now)
    ).values_list("child_id", flat=True)[:SWEEP_BATCH]
    count = 0
    for child_id in due:
        child_evaluate(child_id=child_id, now=now)
        count += 1
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
