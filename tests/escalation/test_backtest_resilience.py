"""A back-test never stays Running after its worker dies (issue 15): it is taken
over and resumes from the last finished scenario, or, after too many starts, is
marked failed and can be run again."""

import datetime
import json
import os
import signal
from pathlib import Path

import pytest
from django.utils import timezone

from escalation import services as escalation
from escalation import tasks
from escalation.backtest import (
    BACKTEST_MAX_ATTEMPTS,
    backtest_run,
    backtest_start,
    backtests_waiting,
)
from escalation.models import BackTest, BackTestStatus
from tests.escalation.test_workers import (  # noqa: F401 - fixtures and helpers
    celery_worker,
    committed,
    migration_defaults,
    migration_defaults_left_behind,
    wait_until,
)

CASE_Q = (
    Path(__file__).resolve().parents[2] / "chronology" / "fixtures" / "case_q.json"
).read_bytes()


@pytest.fixture
def draft(ada):
    return escalation.rule_set_draft(actor=ada, based_on=escalation.rule_set_active())


def stale_running(draft, ada, **fields):
    return BackTest.objects.create(
        rule_set=draft,
        baseline=escalation.rule_set_active(),
        created_by=ada,
        status=BackTestStatus.RUNNING,
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1),
        **fields,
    )


def test_a_back_test_whose_worker_died_resumes_from_the_last_finished_scenario(draft, ada):
    # "first" was finished before the worker died; replayed again it would fail.
    nothing = {"alerts": [], "expect": [], "expect_met": 0, "expect_total": 0}
    finished = {
        "scenario": "first",
        "control": False,
        "title": "First",
        "active": nothing,
        "draft": nothing,
    }
    backtest = stale_running(draft, ada, attempts=1, results=[finished], done=2, total=4)
    assert backtests_waiting() == [backtest.pk]
    result = backtest_run(backtest.pk, scenarios=[("first", b"not json"), ("case_q", CASE_Q)])
    assert result.status == BackTestStatus.DONE, result.error
    assert [row["scenario"] for row in result.results] == ["first", "case_q"]
    assert (result.done, result.total, result.attempts) == (4, 4, 2)
    recall = result.summary["draft"]["recall"]
    assert recall["met"] == recall["total"] == 3


def test_a_back_test_that_keeps_dying_is_failed_and_can_be_run_again(draft, ada):
    backtest = stale_running(draft, ada, attempts=BACKTEST_MAX_ATTEMPTS)
    result = backtest_run(backtest.pk, scenarios=[("case_q", CASE_Q)])
    assert result.status == BackTestStatus.FAILED
    assert "Run the back-test again" in result.error
    assert backtests_waiting() == []
    again = backtest_start(actor=ada, rule_set=draft)
    assert again.status == BackTestStatus.QUEUED


def test_a_running_back_test_with_a_fresh_heartbeat_is_left_to_its_worker(draft, ada):
    backtest = stale_running(draft, ada, attempts=1)
    BackTest.objects.filter(pk=backtest.pk).update(heartbeat_at=timezone.now())
    assert backtests_waiting() == []
    result = backtest_run(backtest.pk, scenarios=[("case_q", CASE_Q)])
    assert (result.status, result.attempts, result.results) == (BackTestStatus.RUNNING, 1, [])


@pytest.fixture
def two_control_families(monkeypatch):
    """Set before the worker starts: it reads its settings from the environment."""
    monkeypatch.setenv("BACKTEST_CONTROL_FAMILIES", "2")


@pytest.mark.slow
@committed
def test_a_worker_killed_mid_run_leaves_a_back_test_that_is_taken_over_and_finishes(
    ada,
    two_control_families,
    celery_worker,  # noqa: F811 - the fixture imported above
    settings,
):
    draft = escalation.rule_set_draft(actor=ada, based_on=escalation.rule_set_active())
    backtest = backtest_start(actor=ada, rule_set=draft)

    def progress():
        return BackTest.objects.values_list("done", flat=True).get(pk=backtest.pk)

    assert wait_until(lambda: progress() >= 2, 120), celery_worker()
    os.killpg(celery_worker.process.pid, signal.SIGKILL)
    celery_worker.process.wait(10)
    backtest.refresh_from_db()
    assert backtest.status == BackTestStatus.RUNNING
    finished_before = [row["scenario"] for row in backtest.results]
    assert finished_before

    # No sign of life for a lease: the beat's sweep takes it over.
    settings.BACKTEST_CONTROL_FAMILIES = 2
    settings.BACKTEST_LEASE_SECONDS = 0
    tasks.backtests_sweep()
    backtest.refresh_from_db()
    assert backtest.status == BackTestStatus.DONE, backtest.error
    assert backtest.attempts == 2
    names = [row["scenario"] for row in backtest.results]
    assert names[: len(finished_before)] == finished_before
    assert len(names) == len(set(names)) and backtest.done == backtest.total
    assert json.dumps(backtest.summary)  # recall and false alarms for both sides
    assert set(backtest.summary) == {"active", "draft"}
