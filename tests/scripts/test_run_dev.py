"""`make run`'s supervisor (scripts/run-dev.sh), with stand-ins for the web server,
the worker and beat (`sleep`, `false`): the real script, real processes and real
signals, without starting Django and Celery, which would take a minute a test."""

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run-dev.sh"
BASH = shutil.which("bash") or "/bin/bash"
STARTED = re.compile(r"run-dev: started the (web server|Celery worker|Celery beat) \(pid (\d+)\)")


class Supervisor:
    def __init__(self, tmp_path, **commands):
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "BROKER_DIR"}} | {
            "RUN_DEV_WEB_CMD": commands.get("web", "sleep 300"),
            "RUN_DEV_WORKER_CMD": commands.get("worker", "sleep 300"),
            "RUN_DEV_BEAT_CMD": commands.get("beat", "sleep 300"),
            "RESTART_LIMIT": "2",
            "RESTART_DELAY": "0.2",
            # No embedded PostgreSQL, no migrate or load_demo: the supervision alone.
            "RUN_DEV_PREPARE": "0",
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own script
            [BASH, str(SCRIPT)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.pids: dict[str, list[int]] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.output.append(line)
            if match := STARTED.search(line):
                self.pids.setdefault(match.group(1), []).append(int(match.group(2)))
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.output)}")

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        # Nothing it started may be left behind, whatever the test did.
        for pids in self.pids.values():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie not yet reaped by its parent is dead too.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def supervise(tmp_path):
    started = []

    def run(**commands):
        supervisor = Supervisor(tmp_path, **commands)
        started.append(supervisor)
        return supervisor

    yield run
    for supervisor in started:
        supervisor.stop()


def test_a_killed_worker_is_started_again_and_the_web_server_runs_on(supervise):
    run = supervise()
    run.wait_for("Serving on")
    worker, web = run.pids["Celery worker"][0], run.pids["web server"][0]

    os.kill(worker, signal.SIGKILL)

    run.wait_for(r"the Celery worker stopped \(status 137\); starting it again \(1 of 2\)")
    run.wait_for("started the Celery worker")
    new_worker = run.pids["Celery worker"][-1]
    assert new_worker != worker and alive(new_worker)
    assert alive(web) and run.process.poll() is None


def test_a_dead_beat_is_started_again(supervise):
    run = supervise()
    run.wait_for("Serving on")
    os.kill(run.pids["Celery beat"][0], signal.SIGTERM)
    run.wait_for(r"the Celery beat stopped \(status 143\); starting it again")
    run.wait_for("started the Celery beat")
    assert alive(run.pids["Celery beat"][-1])


def test_a_worker_that_keeps_dying_stops_everything_with_a_message(supervise):
    run = supervise(worker="false")
    run.wait_for("Serving on")
    line = run.wait_for("stopping everything")
    assert "the Celery worker stopped 3 times in a row" in line
    assert run.process.wait(timeout=20) == 1
    assert gone_within(run.pids["web server"][0], 5)
    assert gone_within(run.pids["Celery beat"][0], 5)


def test_when_the_web_server_stops_everything_stops(supervise):
    run = supervise(web="sleep 1")
    run.wait_for("Serving on")
    run.wait_for("the web server stopped")
    assert run.process.wait(timeout=20) != 0
    assert gone_within(run.pids["Celery worker"][0], 5)
    assert gone_within(run.pids["Celery beat"][0], 5)


def test_ctrl_c_stops_all_three(supervise):
    run = supervise()
    run.wait_for("Serving on")
    os.kill(run.process.pid, signal.SIGINT)
    assert run.process.wait(timeout=20) == 130
    for pids in run.pids.values():
        assert gone_within(pids[0], 5)
