"""A Redis server of a test run's own, for the tests that stop, start or flush Redis.

The machine's Redis (REDIS_URL, normally 127.0.0.1:6379) is shared with other
people's test runs and benchmarks, so no test ever stops or flushes it. A test
that needs Redis to go away points the app at this server instead: its own port,
its own folder, its own process, and nothing else uses it.
"""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import kombu.pools
import pytest
import redis

from safeguarding.celery import app as celery_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_answers(host: str, port: int) -> bool:
    client = redis.Redis(host=host, port=port, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def celery_pools_reset() -> None:
    # The app keeps a connection pool and a producer pool for the broker URL it
    # first used; drop them so the next publish connects to the URL set now. The
    # pools live in kombu's registry, keyed by URL: closing one without clearing
    # the registry would hand the closed pool back at the next publish to that URL
    # ("Acquire on closed pool"), failing every later test that publishes.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def celery_broker(url: str, queue: str | None = None):
    """The app publishes to `url` (and `queue`, when given) inside the block."""
    previous = celery_app.conf.broker_url, celery_app.conf.task_default_queue
    celery_app.conf.broker_url = url
    if queue is not None:
        celery_app.conf.task_default_queue = queue
    celery_pools_reset()
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_default_queue = previous
        celery_pools_reset()


class PrivateRedis:
    """`redis-server` on a free port of 127.0.0.1, keeping nothing on disk."""

    host = "127.0.0.1"

    def __init__(self, binary: str):
        self.binary = binary
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="private-redis-"))
        self.url = f"redis://{self.host}:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def answers(self) -> bool:
        return redis_answers(self.host, self.port)

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None and self.answers():
            return
        command = [
            self.binary, "--port", str(self.port), "--bind", self.host,
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            "--daemonize", "no", "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command)  # noqa: S603 - our own command line
        assert _wait_until(self.answers, 30), "the private Redis did not start"

    def stop(self) -> None:
        """Stops the server as a crash would look to its clients: nothing is saved."""
        if self.process is None or self.process.poll() is not None:
            return
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=1)
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # it closes the connection as it goes
        finally:
            client.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        assert not self.answers(), "the private Redis did not stop"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis():
    """A Redis of this test run's own, always running when a test starts."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: it is needed for a private Redis")
    server = PrivateRedis(binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def private_redis_running(private_redis):
    """The private Redis, started again after a test that stopped it."""
    private_redis.start()
    try:
        yield private_redis
    finally:
        private_redis.start()
