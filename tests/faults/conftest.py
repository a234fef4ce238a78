"""Fault tests (issue 7): real workers, a real Redis stopped and flushed, and
sweeps racing, on the real PostgreSQL; and PostgreSQL itself restarted under the
served app, on a throwaway cluster of the test's own (PrivatePostgres, below).

These tests commit (a worker in another process only sees committed rows), so
they run with `transaction=True` and load the migrations' rows first.

The broker is a Redis server of the faults' own (tests/private_redis.py), never
the machine's shared one: these tests flush it mid-run and stop it.
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import configuration_defaults_load
from tests.private_redis import celery_broker, free_port, redis_answers


def migration_defaults_load() -> None:
    # A committed test's flush empties every table, the configuration that data
    # migrations load too: put back before each test and after the last, for the
    # tests that run after these on the same database.
    configuration_defaults_load()


@pytest.fixture(scope="session")
def migration_defaults_left_behind(django_db_setup, django_db_blocker):
    """A kept test database (--reuse-db) still holds the migrations' rows after
    the last committed test's flush."""
    yield
    with django_db_blocker.unblock():
        migration_defaults_load()


@pytest.fixture
def migration_defaults(transactional_db, migration_defaults_left_behind):
    migration_defaults_load()


def wait_until(condition, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


class Broker:
    """The faults' own Redis server, and the queue the app publishes to."""

    def __init__(self, url: str, queue: str):
        self.url = url
        self.queue = queue
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 6379
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1)

    def waiting(self) -> int:
        return self.client.llen(self.queue)

    def unacked(self) -> set[str]:
        """Delivery tags of messages taken by a worker and not yet acknowledged
        (kombu keeps them in the hash "unacked" until the ack)."""
        return {tag.decode() for tag in self.client.hkeys("unacked")}

    def unacked_child_ids(self, tags: set[str]) -> list[int]:
        import base64
        import json

        ids = []
        for tag in tags:
            raw = self.client.hget("unacked", tag)
            if raw is None:
                continue
            message = json.loads(raw)[0]
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids.extend(args)
        return ids

    def flush(self) -> None:
        self.client.flushdb()


@pytest.fixture
def broker(private_redis_running):
    """Points the app at the faults' own Redis server and a fresh queue."""
    found = Broker(private_redis_running.url, f"faults-{uuid.uuid4().hex[:12]}")
    try:
        with celery_broker(found.url, found.queue):
            found.flush()
            yield found
    finally:
        try:
            if redis_answers(found.host, found.port):
                found.flush()
        finally:
            found.client.close()


@pytest.fixture
def redis_service(broker, private_redis_running):
    """Stop and start the faults' own Redis; it is always running again after the test."""
    return private_redis_running


def database_url_for_tests() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user or password else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


class CeleryWorker:
    """A real `celery worker` (prefork, 2 processes) consuming only the test's queue."""

    def __init__(self, broker: Broker, log_path: Path):
        self.log_path = log_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": broker.url,
            "DEBUG": "true",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "safeguarding", "worker",
            "--concurrency", "2", "-Q", broker.queue, "--loglevel", "INFO",
            "--hostname", f"{broker.queue}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = wait_until(
            lambda: " ready." in self.log() or self.process.poll() is not None, 60, 0.1
        )
        assert started and self.process.poll() is None, f"no worker:\n{self.log()}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the whole process group: the pool's children die with it,
        mid-task, with no chance to ack, reject or clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def start_worker(broker, tmp_path):
    workers: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        worker = CeleryWorker(broker, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


# --- A PostgreSQL cluster of the test's own, and the app served on it ------------------------
#
# The machine's PostgreSQL (127.0.0.1:5432) is shared with other people's test runs
# and benchmarks, so it is never stopped. The restart test makes a throwaway cluster
# instead: its own data folder, port and processes, and only that is restarted.

PG_BINDIR_GLOB = "/usr/lib/postgresql/*/bin"
# initdb's catalogues are not synced: only PostgreSQL's processes are killed here,
# never the machine, and commits still wait for their WAL to be flushed.
PG_CONFIG = """
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
max_connections = 40
shared_buffers = 16MB
"""


def postgres_bindir() -> Path | None:
    """PG_BINDIR, else Debian's newest /usr/lib/postgresql/<version>/bin, else pg_ctl
    on the PATH: a folder with both initdb and pg_ctl."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob(PG_BINDIR_GLOB), key=_version, reverse=True)
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(str(Path(pg_ctl).parent))
    for candidate in filter(None, candidates):
        folder = Path(candidate)
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _version(bindir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,)
    return tuple(int(part) for part in Path(bindir).parent.name.split(".") if part.isdigit())


def skip_unless_ci(reason: str):
    """Missing tools skip the test on a developer's machine; CI has them, so there
    their absence is a failure, never a silent skip."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


def port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trust authentication, one database.

    PostgreSQL refuses to run as root, so when we are root its programs run as the
    `postgres` user, in a folder that user owns."""

    DATABASE = "chronology"

    def __init__(self, bindir: Path, run_as: str | None):
        self.bindir = bindir
        self.run_as = run_as
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgresql.log"
        self.port = free_port()
        if run_as:
            shutil.chown(self.root, user=run_as, group=run_as)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.DATABASE}"

    def _run(self, program: str, *args: str, timeout: float = 60):
        command = [str(self.bindir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(  # noqa: S603 - our own command line
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"{program} {args}:\n{done.stdout}{done.stderr}\n{self.log()}"
        return done

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def create(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(PG_CONFIG.format(port=self.port, socket_dir=self.root))
        self.start()
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.DATABASE
        )

    def start(self) -> None:
        # -w: back only once the server accepts connections (after crash recovery, if any).
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """fast: sessions are ended, a checkpoint is written. immediate: every process is
        killed, as in a crash, and the next start recovers from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            try:
                self.stop("immediate")
            except (AssertionError, subprocess.SubprocessError):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    """A migrated PostgreSQL cluster of this test's own, torn down whatever happens."""
    bindir = postgres_bindir()
    if bindir is None:
        skip_unless_ci(
            f"initdb and pg_ctl not found (looked in $PG_BINDIR, {PG_BINDIR_GLOB}, the PATH)"
        )
    run_as = None
    if os.geteuid() == 0:
        try:
            run_as = pwd.getpwnam("postgres").pw_name
        except KeyError:
            skip_unless_ci("running as root and there is no `postgres` user to run PostgreSQL as")
        if shutil.which("runuser") is None:
            skip_unless_ci("running as root and runuser (util-linux) is missing")
    cluster = PrivatePostgres(bindir, run_as)
    try:
        cluster.create()
        migrated = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=settings.BASE_DIR,
            # One role in a throwaway cluster: its superuser migrates and serves.
            env={
                **os.environ,
                "DATABASE_URL": cluster.url,
                "DATABASE_OWNER_URL": "",
                "DEBUG": "true",
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield cluster
    finally:
        cluster.destroy()


def child_pids(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


class AppServer:
    """The app under gunicorn (2 sync workers), as in production: DEBUG off."""

    WORKERS = 2

    def __init__(self, *, database_url: str, redis_url: str, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "false",
            "SECRET_KEY": "faults-only-secret-key-not-for-production-use-0123456789",
            "SECURE_COOKIES": "false",
            # The writers send as fast as the app answers, as one user; these tests
            # are about outages, not about the API's rate limit.
            "API_THROTTLE_USER_RATE": "100000/s",
        }
        command = [
            sys.executable, "-m", "gunicorn", "safeguarding.wsgi",
            "--workers", str(self.WORKERS), "--bind", f"127.0.0.1:{self.port}",
            "--timeout", "30", "--graceful-timeout", "5",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        up = wait_until(
            lambda: self.process.poll() is not None
            or (port_answers(self.port) and len(self.pids()) == 1 + self.WORKERS),
            60,
            0.1,
        )
        assert up and self.process.poll() is None, f"gunicorn did not start:\n{self.log()}"

    def pids(self) -> set[int]:
        """The master's and its workers' process ids: the same set later means the
        service was not restarted and no worker died."""
        return {self.process.pid} | child_pids(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def serve_app(tmp_path):
    servers: list[AppServer] = []

    def serve(**kwargs) -> AppServer:
        server = AppServer(log_path=tmp_path / f"gunicorn-{len(servers)}.log", **kwargs)
        servers.append(server)
        return server

    try:
        yield serve
    finally:
        for server in servers:
            server.stop()
