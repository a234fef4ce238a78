"""The workers, on the real PostgreSQL and the real Redis (issue 4, part 6).

Evaluations are queued only after the entry commits; two workers racing on one
pattern raise one alert; a child marked while Redis is down is found by the
sweep; a real Celery worker turns an entry into an alert within 5 seconds; and
every task is safe to run twice.

Tests marked `committed` run outside a test transaction, because what they
prove happens at commit or across connections: the worker threads and the
Celery worker only see committed rows. Their tables are emptied afterwards, so
they load the migrations' rows (the active rule set, the scoring config) first.
"""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chronology import services
from chronology.vocabulary import EntryKind
from escalation import services as escalation
from escalation import tasks
from escalation.models import Alert, AlertStatus, ChildWatch
from escalation.rules import RULE_TYPES
from neglect_tool.selectors import scoring_config_active
from tests.conftest import configuration_defaults_load
from tests.private_redis import celery_broker


def migration_defaults_load() -> None:
    configuration_defaults_load()


@pytest.fixture(scope="session")
def migration_defaults_left_behind(django_db_setup, django_db_blocker):
    """Put the migrations' rows back after the last committed test's flush, so a
    test database kept for the next run (--reuse-db) still holds them."""
    yield
    with django_db_blocker.unblock():
        migration_defaults_load()


@pytest.fixture
def migration_defaults(transactional_db, migration_defaults_left_behind):
    """A committed test's flush empties every table, the migrations' rows too."""
    migration_defaults_load()


def committed(test):
    """Run `test` with real commits (see the module's docstring)."""
    test = pytest.mark.usefixtures("migration_defaults")(test)
    return pytest.mark.django_db(transaction=True)(test)


EVALUATE_TASK = "escalation.tasks.child_evaluate_task"


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def record(actor, child, day, categories=("neglect.nutrition",)):
    return services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=day,
        categories=list(categories),
        summary=f"Concern on {day}",
    )


def frequency_alerts(child):
    return Alert.objects.filter(child=child, rule_code="frequency-neglect")


# --- Redis and the queue ------------------------------------------------------------------


def wait_until(condition, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def waits_on_a_lock() -> bool:
    """Whether another connection to the test database is waiting on a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def redis_stopped(queue, private_redis_running):
    """The app publishes to a Redis of the test's own, stopped for the test (the
    machine's shared Redis is never stopped). Returns the server, to start it again."""
    with celery_broker(private_redis_running.url):
        private_redis_running.stop()
        yield private_redis_running


# --- people and patterns -------------------------------------------------------------------


@pytest.fixture
def first_concerns(alice, bob, child, queue):
    """Two neglect concerns from two agencies: half of the frequency rule's pattern."""
    record(bob, child, days_ago(60))
    record(alice, child, days_ago(45))


@pytest.fixture
def neglect_pattern(bob, child, first_concerns):
    """Four neglect concerns from two agencies within the last 90 days of the real
    calendar, so the frequency rule fires at the real now, as it does for a worker."""
    record(bob, child, days_ago(30))
    return record(bob, child, days_ago(10), categories=["neglect.hygiene"])


class Worker(threading.Thread):
    """Runs `work` in a thread of its own, so on a database connection of its own."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work = work
        self.result = None
        self.error: BaseException | None = None

    def run(self):
        try:
            self.result = self.work()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            self.error = error
        finally:
            connection.close()  # this thread's connection

    def outcome(self, seconds: float = 30):
        self.join(seconds)
        assert not self.is_alive(), "the worker thread hung"
        if self.error is not None:
            raise self.error
        return self.result


# --- 1. queued after commit ----------------------------------------------------------------


class Abandoned(Exception):
    pass


@committed
def test_an_evaluation_is_queued_only_after_the_entry_commits(bob, child, queue):
    assert len(queue) == 0
    with transaction.atomic():
        record(bob, child, days_ago(3))
        assert ChildWatch.objects.get(child=child).due_since is not None
        assert len(queue) == 0, "queued before commit: a worker could miss the entry"
    assert queue.messages() == [(EVALUATE_TASK, [child.pk])]


@committed
def test_an_entry_rolled_back_queues_nothing_and_leaves_no_mark(bob, child, queue):
    with pytest.raises(Abandoned), transaction.atomic():
        record(bob, child, days_ago(3))
        raise Abandoned
    assert len(queue) == 0
    assert not ChildWatch.objects.filter(child=child, due_since__isnull=False).exists()


# --- 2. two workers at once ----------------------------------------------------------------


@committed
def test_two_workers_evaluating_one_pattern_at_once_raise_one_alert(child, neglect_pattern):
    now = timezone.now()
    barrier = threading.Barrier(2, timeout=10)

    def evaluate():
        barrier.wait()
        return escalation.child_evaluate(child_id=child.pk, now=now)

    workers = [Worker(evaluate), Worker(evaluate)]
    for worker in workers:
        worker.start()
    results = [worker.outcome() for worker in workers]
    assert sorted([a.rule_code for a in r.raised] for r in results) == [[], ["frequency-neglect"]]
    assert Alert.objects.filter(child=child).count() == 1


@committed
def test_the_unique_index_alone_keeps_two_racing_alerts_to_one(child, neglect_pattern):
    """Without the child's row lock: the second insert waits on the first's
    uncommitted row in the index, then fails, and takes the first's alert."""
    rule_set = escalation.rule_set_active()
    rule = rule_set.rules.get(code="frequency-neglect")
    now = timezone.now()
    first_inserted, first_may_commit = threading.Event(), threading.Event()

    def alert_for():
        watch = ChildWatch.objects.get(child=child)
        ctx = escalation._load_context(child, now, watch, scoring_config_active())
        [finding] = RULE_TYPES[rule.type](rule, ctx)
        return escalation._alert_for(child, finding, ctx, rule_set)

    def first():
        with transaction.atomic():
            result = alert_for()
            first_inserted.set()
            assert first_may_commit.wait(10)
        return result

    def second():
        assert first_inserted.wait(10)
        with transaction.atomic():
            return alert_for()

    one, two = Worker(first), Worker(second)
    one.start()
    two.start()
    try:
        assert first_inserted.wait(10)
        # Let the first commit only once the second is stuck behind it on a lock
        # (or, were there no index, has gone ahead and finished).
        wait_until(lambda: waits_on_a_lock() or not two.is_alive(), 10)
    finally:
        first_may_commit.set()
    (alert_one, created_one), (alert_two, created_two) = one.outcome(), two.outcome()
    assert (created_one, created_two) == (True, False)
    assert alert_one.pk == alert_two.pk
    assert frequency_alerts(child).count() == 1


@pytest.mark.parametrize("marked_before", [False, True], ids=["unmarked", "already-marked"])
@committed
def test_an_entry_committed_while_its_child_is_evaluated_is_neither_refused_nor_forgotten(
    alice, bob, child, first_concerns, marked_before
):
    """The writer commits while a worker is evaluating the same child: the write
    must not fail (a deadlock), and the new entry must be evaluated or stay marked
    for the sweep, in case its queued task never comes (Redis down)."""
    record(alice, child, days_ago(30))
    if not marked_before:
        escalation.child_evaluate(child_id=child.pk)
    assert bool(ChildWatch.objects.get(child=child).due_since) is marked_before
    recorded, may_commit = threading.Event(), threading.Event()

    def write():
        with transaction.atomic():
            entry = record(bob, child, days_ago(10), categories=["neglect.hygiene"])
            recorded.set()
            assert may_commit.wait(10)
        return entry

    writer = Worker(write)
    writer.start()
    try:
        assert recorded.wait(10)
        evaluator = Worker(lambda: escalation.child_evaluate(child_id=child.pk))
        evaluator.start()
        # Commit the entry while the evaluation is under way: once it waits on a
        # lock the writer holds, or, if it waits on nothing, once it is done.
        wait_until(lambda: waits_on_a_lock() or not evaluator.is_alive(), 10)
    finally:
        may_commit.set()
    writer.outcome()
    evaluator.outcome()
    watch = ChildWatch.objects.get(child=child)
    assert frequency_alerts(child).exists() or watch.due_since is not None


# --- 3. Redis down -------------------------------------------------------------------------


@pytest.mark.slow
@committed
def test_a_child_marked_while_redis_is_stopped_is_evaluated_by_the_next_sweep(
    alice, bob, child, first_concerns, redis_stopped
):
    escalation.child_evaluate(child_id=child.pk)
    assert not ChildWatch.objects.get(child=child).due_since

    for actor, day, categories in [
        (alice, days_ago(30), ["neglect.nutrition"]),
        (bob, days_ago(10), ["neglect.hygiene"]),
    ]:
        started = time.monotonic()
        record(actor, child, day, categories)
        # The broker's connect timeout bounds it; the write must not wait on Redis.
        assert time.monotonic() - started < 5
    marked_at = ChildWatch.objects.get(child=child).due_since
    assert marked_at is not None
    assert not frequency_alerts(child).exists()

    redis_stopped.start()

    with time_machine.travel(timezone.now() + tasks.SWEEP_GRACE, tick=False):
        assert tasks.evaluations_sweep() == 1
    assert frequency_alerts(child).get().status == AlertStatus.OPEN
    assert ChildWatch.objects.get(child=child).due_since is None


# --- 4. a real Celery worker -------------------------------------------------------------


def database_url_for_tests() -> str:
    """DATABASE_URL naming the test database that pytest-django made."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user or password else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def celery_worker(queue, tmp_path):
    """A real `celery worker` process, consuming only this test's queue, on the
    test database. Its log is printed when the test fails."""
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "true",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "safeguarding", "worker",
        "--pool=solo", "-Q", queue.name, "--loglevel=INFO",
        "--hostname", f"{queue.name}@%h",
        # No other workers to meet: start and stop faster.
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text() -> str:
        return log_path.read_text(errors="replace")

    try:
        ready = wait_until(lambda: " ready." in log_text() or process.poll() is not None, 30)
        assert ready and process.poll() is None, f"the worker did not start:\n{log_text()}"
        log_text.process = process  # for tests that kill the worker
        yield log_text
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        print(f"--- celery worker log ---\n{log_text()}")


@pytest.mark.slow
@committed
def test_a_real_worker_raises_the_alert_within_5_seconds_of_the_commit(
    bob, child, first_concerns, celery_worker
):
    record(bob, child, days_ago(30))
    started = time.monotonic()
    record(bob, child, days_ago(10), categories=["neglect.hygiene"])
    raised = wait_until(lambda: frequency_alerts(child).exists(), 5 - (time.monotonic() - started))
    assert raised, f"no alert 5 s after the commit; worker log:\n{celery_worker()}"
    # The mark stays until an evaluation that began after it has run: perhaps
    # not the one that raised the alert, if the last entry committed during it.
    assert wait_until(lambda: not ChildWatch.objects.get(child=child).due_since, 5)


# --- 5. safe to run twice ------------------------------------------------------------------


def test_the_evaluation_task_run_twice_gives_one_alert(child, neglect_pattern):
    tasks.child_evaluate_task.apply(args=[child.pk], throw=True)
    tasks.child_evaluate_task.apply(args=[child.pk], throw=True)
    alert = Alert.objects.get(child=child)
    assert alert.rule_code == "frequency-neglect"
    assert (alert.history.count(), alert.evidence.count()) == (1, 4)


def test_the_ladder_tick_run_twice_moves_an_alert_one_rung(child, neglect_pattern):
    tasks.child_evaluate_task.apply(args=[child.pk], throw=True)
    alert = frequency_alerts(child).get()
    with time_machine.travel(alert.ladder_due_at, tick=False):
        assert tasks.ladder_tick.apply(throw=True).get() == 1
        assert tasks.ladder_tick.apply(throw=True).get() == 0
    alert.refresh_from_db()
    assert (alert.ladder_level, alert.status) == (2, AlertStatus.ESCALATED)
    assert alert.history.filter(ladder_level=2).count() == 1
