"""PostgreSQL restarted while entries are being written (issue 7).

The app is served by gunicorn on a PostgreSQL cluster of the test's own (never the
machine's shared server, conftest.PrivatePostgres). Client threads POST entries
through the API all along while that cluster is stopped and started twice: once
cleanly ("fast": sessions ended, checkpoint) and once as a crash ("immediate":
every process killed, WAL recovery on start). Then:

- no acknowledged write is lost: every 201's entry is in the database;
- no write is doubled: each client sends a failed entry again with its
  Idempotency-Key, and an entry whose commit landed behind a 503 is answered,
  not stored a second time;
- every failure is a clean 503: JSON, Retry-After, no trace of the fault;
- the service recovered by itself: every POST begun after the cluster was back
  succeeded, served by the same gunicorn master and workers as before.
"""

import collections
import dataclasses
import datetime
import http.client
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg2
import pytest
from django.conf import settings
from django.utils import timezone

from chronology.models import Entry
from safeguarding.db_errors import DETAIL

from .conftest import wait_until

pytestmark = pytest.mark.faults

CLIENTS = 4
OUTAGE_SECONDS = 3.0
SETTLE_SECONDS = 3.0
SUMMARY = "Written through a PostgreSQL restart"


def writer_seed() -> None:
    """Run inside the private cluster's app (a subprocess): a practitioner with an API
    token and the children her agency works with. Prints them as JSON."""
    from agencies.models import Agency, Role, User
    from agencies.services import api_token_create
    from chronology import services

    agency = Agency.objects.create(code="SCF", name="Social care (faults)", kind="social_care")
    fiona = User.objects.create_user(username="fiona", agency=agency, role=Role.PRACTITIONER)
    children = [
        services.child_create(actor=fiona, given_names=f"Child {i}", family_name="Restart")
        for i in range(CLIENTS)
    ]
    _, key = api_token_create(user=fiona, name="Restart writers", second_factor_verified=False)
    print(json.dumps({"token": key, "children": [str(c.public_id) for c in children]}))


def seed(database_url: str) -> dict:
    code = (
        "import django; django.setup(); "
        "from tests.faults.test_postgres_restart import writer_seed; writer_seed()"
    )
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "true",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclasses.dataclass
class Attempt:
    started: float
    ended: float
    marker: str
    status: int | None  # None: no HTTP answer at all (refused, reset, timed out)
    body: str
    content_type: str = ""
    retry_after: str | None = None
    replayed: bool = False


class Writers:
    """CLIENTS threads, each POSTing entries about its own child until stopped. They
    can be paused, with no request left in flight."""

    def __init__(self, port: int, token: str, children: list[str]):
        self.port, self.token = port, token
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.running = threading.Event()
        self.running.set()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._write, args=(child,), daemon=True) for child in children
        ]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)

    def pause(self) -> None:
        with self.lock:
            self.running.clear()
        assert wait_until(lambda: self.in_flight == 0, 60), "a request never finished"

    def resume(self) -> None:
        self.running.set()

    def post(self, child: str, marker: str | None = None) -> Attempt:
        """POST one entry, its marker also its Idempotency-Key; a marker given is a
        retry of that entry."""
        marker = marker or uuid.uuid4().hex
        body = {
            "kind": "concern",
            "event_date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
            "categories": ["neglect.nutrition"],
            "severity": 2,
            "summary": f"{SUMMARY} {marker}",
        }
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                "POST",
                f"/api/v1/children/{child}/entries/",
                json.dumps(body),
                {
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "Authorization": f"Token {self.token}",
                    "Idempotency-Key": marker,
                },
            )
            response = conn.getresponse()
            attempt = Attempt(
                started,
                time.monotonic(),
                marker,
                response.status,
                response.read().decode(errors="replace"),
                response.getheader("Content-Type", ""),
                response.getheader("Retry-After"),
                response.getheader("Idempotent-Replayed") == "true",
            )
        except (OSError, http.client.HTTPException) as error:
            attempt = Attempt(started, time.monotonic(), marker, None, repr(error))
        finally:
            conn.close()
        with self.lock:
            self.attempts.append(attempt)
        return attempt

    def _write(self, child: str) -> None:
        """Entry after entry; one that failed is sent again, with its key, until it
        is acknowledged, as a client that must not lose it would."""
        retry = None
        while not self.stopping.is_set():
            with self.lock:
                go = self.running.is_set()
                self.in_flight += go
            if not go:
                time.sleep(0.05)
                continue
            try:
                attempt = self.post(child, retry)
            finally:
                with self.lock:
                    self.in_flight -= 1
            retry = None if attempt.status == 201 else attempt.marker
            # A real client would wait Retry-After; a short pause keeps the outage busy.
            time.sleep(0.02 if attempt.status == 201 else 0.1)


def stored_entries(database_url: str) -> dict[str, str]:
    """public_id -> summary of every entry written by this test, read straight from
    the private cluster."""
    table = Entry._meta.db_table
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT public_id::text, summary FROM {table} WHERE summary LIKE %s",  # noqa: S608 - a model's table name
            (f"{SUMMARY} %",),
        )
        rows = dict(cursor.fetchall())
    conn.close()
    return rows


@dataclasses.dataclass
class Restart:
    mode: str  # pg_ctl's shutdown mode
    stopping: float  # stop called
    stopped: float  # stop returned: the server is down
    starting: float  # start called
    back: float  # start returned: the server accepts connections


def restart(cluster, mode: str, outage: float) -> Restart:
    stopping = time.monotonic()
    cluster.stop(mode)
    stopped = time.monotonic()
    time.sleep(outage)
    starting = time.monotonic()
    cluster.start()
    return Restart(mode, stopping, stopped, starting, time.monotonic())


def test_writes_through_a_postgresql_restart_lose_nothing_acknowledged(
    private_postgres, serve_app, broker
):
    began = time.monotonic()
    people = seed(private_postgres.url)
    server = serve_app(database_url=private_postgres.url, redis_url=broker.url)
    pids = server.pids()

    with Writers(server.port, people["token"], people["children"]) as writers:
        time.sleep(SETTLE_SECONDS)
        # First a restart between requests: each worker's kept connection is dead when
        # its next request begins. CONN_HEALTH_CHECKS must notice and reconnect.
        writers.pause()
        quiet = restart(private_postgres, "fast", 0.5)
        writers.resume()
        time.sleep(SETTLE_SECONDS)
        # Then restarts while the clients write, into the outage and through it.
        loud = []
        for mode in ("fast", "immediate"):
            loud.append(restart(private_postgres, mode, OUTAGE_SECONDS))
            time.sleep(SETTLE_SECONDS)
    attempts = writers.attempts

    acknowledged = {json.loads(a.body)["id"] for a in attempts if a.status == 201}
    failures = [a for a in attempts if a.status != 201]
    stored = stored_entries(private_postgres.url)
    lost = acknowledged - set(stored)
    # A 503 whose commit landed before the connection went: stored, then its retry
    # answered with that same entry (Idempotent-Replayed), not a second one.
    replayed = [a for a in attempts if a.replayed]
    times_stored = collections.Counter(summary.split()[-1] for summary in stored.values())
    print(
        f"\n{len(attempts)} POSTs: {len(acknowledged)} acknowledged (201), "
        f"{len(failures)} answered 503, {len(replayed)} retries answered with the entry "
        f"their 503 had in fact stored; {len(lost)} acknowledged writes lost; "
        f"{time.monotonic() - began:.1f} s in all"
    )

    assert len(acknowledged) == sum(a.status == 201 for a in attempts), "an id answered twice"
    assert not lost, f"{len(lost)} acknowledged writes are not in the database: {sorted(lost)[:5]}"
    twice = [marker for marker, n in times_stored.items() if n > 1]
    assert not twice, f"{len(twice)} entries sent again after a 503 were stored twice"

    for a in failures:
        assert a.status == 503, (a.status, a.body[:500])
        assert a.content_type == "application/json", a.content_type
        assert json.loads(a.body) == {"detail": DETAIL}, a.body[:500]
        assert a.retry_after and a.retry_after.isdigit()
    # Each outage was met by the clients: real failures, not a quiet window.
    for r in loud:
        during = [a for a in attempts if r.stopped <= a.started and a.ended <= r.starting]
        assert during and all(a.status == 503 for a in during), r.mode

    # Recovered by itself: every request made once the server was back, and over
    # before the next stop began, succeeded...
    restarts = [quiet, *loud]
    for r, until in zip(restarts, [n.stopping for n in restarts[1:]] + [math.inf], strict=True):
        after = [a for a in attempts if a.started >= r.back and a.ended < until]
        assert after, f"no writes after the {r.mode} restart"
        failed = [(a.started - r.back, a.status, a.body[:300]) for a in after if a.status != 201]
        assert not failed, (r.mode, failed[:5], server.log()[-6000:])
    # ...served by the same master and workers: nothing was restarted, no worker died.
    assert server.pids() == pids, server.log()[-3000:]
    follow_up = writers.post(people["children"][0])
    assert follow_up.status == 201, follow_up.body[:500]
    assert json.loads(follow_up.body)["id"] in stored_entries(private_postgres.url)
    # The fault went to the server's log, and only there.
    assert "Database unavailable" in server.log()
