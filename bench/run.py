"""`make bench`: build the county (unless one of the same size is there), measure,
write bench/results.json and print a table.

Environment: DATABASE_URL (the bench's own database, default chronology_bench),
REDIS_URL, BENCH_CHILDREN (100000), BENCH_RUNS (5, runs per figure; the full
sweep runs BENCH_SWEEP_RUNS, 3), BENCH_SWEEP_CHILDREN (sweep only the first N
children), BENCH_REBUILD=1 to build afresh, BENCH_ONLY to measure a subset of
sweep,nightly,incremental,pages,ingest,latency,bulk_import, BENCH_RESULTS (another
output file), BENCH_BULK_ENTRIES (20000, entries a bulk import run writes) over
BENCH_BULK_CHILDREN (2000).
"""

import datetime
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.utils import timezone

BASE = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chronology_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

CHILDREN = int(os.environ.get("BENCH_CHILDREN", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SWEEP_RUNS = int(os.environ.get("BENCH_SWEEP_RUNS", "3"))
# The full sweep evaluates every child one by one; when that takes too long for the
# machine, BENCH_SWEEP_CHILDREN limits it (and its floor) to the first N children.
SWEEP_CHILDREN = int(os.environ.get("BENCH_SWEEP_CHILDREN", "0")) or None
ONLY = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
VISIBLE = 2000
LONG_ENTRIES = 5000
INGEST_SECONDS = int(os.environ.get("BENCH_INGEST_SECONDS", "10"))
CLIENTS = 16
RESULTS = Path(os.environ.get("BENCH_RESULTS", BASE / "bench" / "results.json"))


def check(condition: bool, message: str = "") -> None:
    if not condition:
        raise RuntimeError(message or "bench check failed")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wanted(name: str) -> bool:
    return not ONLY or name in ONLY


# --- the database ----------------------------------------------------------------------


def database_prepare() -> dict | None:
    """The county's ids if a county of this size is there; else a fresh, migrated
    database (None). Runs before Django opens its own connection."""
    import psycopg2

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = psycopg2.connect(
        host=url.hostname,
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
    if exists and os.environ.get("BENCH_REBUILD") != "1":
        db = psycopg2.connect(os.environ["DATABASE_URL"])
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT info FROM bench_county")
                info = cursor.fetchone()[0]
            if info["children"] == CHILDREN:
                admin.close()
                # A kept county follows the code's migrations (a new table, say),
                # so that no figure is taken on last week's schema.
                migrate(name)
                return info
        except psycopg2.Error:
            pass
        finally:
            db.close()
    with admin.cursor() as cursor:
        if exists:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    migrate(name)
    return None


def migrate(name: str) -> None:
    log(f"migrating {name}")
    subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE, check=True
    )


def county_ready() -> dict:
    info = database_prepare()
    import django

    django.setup()
    if info is not None:
        log(
            f"using the county already built: {info['children']} children, "
            f"{info['entries']} entries"
        )
        return info
    from dataclasses import asdict

    from django.db import connection

    from .county import county_build

    log(f"building a county of {CHILDREN} children with COPY")
    started = time.perf_counter()
    county = county_build(children=CHILDREN, visible=VISIBLE, long_entries=LONG_ENTRIES)
    info = asdict(county)
    info["build_seconds"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_county (info jsonb)")
        cursor.execute("INSERT INTO bench_county VALUES (%s)", [json.dumps(info)])
    log(f"built {county.entries} entries in {info['build_seconds']} s")
    return info


# --- helpers --------------------------------------------------------------------------------


def median_of(samples):
    return statistics.median(samples)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def sql(query: str, params=()):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else None


class CeleryWorker:
    """A real Celery worker on the bench's queue, with the 2 processes a 2-core
    machine runs: the sweep spreads over them, and alerts are raised by them."""

    def __init__(self):
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed with the worker
            prefix="bench-worker-", suffix=".log"
        )
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "safeguarding",
                "worker",
                "-Q",
                "bench",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--hostname",
                "bench@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "SWEEP_WORKERS": "2"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in Path(self.log.name).read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(Path(self.log.name).read_text())
            time.sleep(0.2)

    def stop(self):
        os.killpg(self.process.pid, 15)
        self.process.wait(20)
        self.log.close()


# --- (a) and (b): the sweep -----------------------------------------------------------------

FLOOR_SQL = """
SELECT ec.child_id, count(*), sum(coalesce(e.severity, 1)), max(e.event_date),
       count(DISTINCT e.agency_id), count(c.id) FILTER (WHERE c.category LIKE 'neglect.%%')
FROM chronology_entrychild ec
JOIN chronology_entry e ON e.id = ec.entry_id
LEFT JOIN chronology_entrycategory c ON c.entry_id = e.id
WHERE e.event_date <= %s AND ec.child_id <= %s
GROUP BY ec.child_id
"""


def sweep_floor() -> float:
    today = timezone.localdate()
    started = time.perf_counter()
    rows = sql(FLOOR_SQL, [today, SWEEP_CHILDREN or 2**62])
    elapsed = time.perf_counter() - started
    check(len(rows) > 0)
    return elapsed


# Anything left for a sweep: two probes along the watch indexes, cheap enough to ask
# ten times a second without loading the machine being measured.
DUE_SQL = """
SELECT EXISTS (SELECT 1 FROM escalation_childwatch WHERE next_check_at <= %s AND child_id <= %s)
    OR EXISTS (SELECT 1 FROM escalation_childwatch WHERE due_since <= %s AND child_id <= %s)
"""


def sweep_until_done() -> tuple[int, float]:
    """The app's own sweep task, queued as beat queues it (at once, then every
    minute) to a real worker's two processes, until nothing is due: the seconds
    from the first queueing to the last batch's commit. Queued evaluations are
    purged first, so the sweep does all the work. Returns how many it evaluated,
    and the seconds (the worker's start is not timed)."""
    from escalation.tasks import SWEEP_GRACE, evaluations_sweep

    queue_purge()
    worker = CeleryWorker()
    try:
        scope = SWEEP_CHILDREN or 2**62
        started_at = timezone.now()
        started = next_beat = time.perf_counter()
        while True:
            if time.perf_counter() >= next_beat:
                evaluations_sweep.delay()
                next_beat += 60
            marked_before = timezone.now() - SWEEP_GRACE
            if not sql(DUE_SQL, [started_at, scope, marked_before, scope])[0][0]:
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        worker.stop()
    evaluated = sql(
        "SELECT count(*) FROM escalation_childwatch WHERE evaluated_at >= %s AND child_id <= %s",
        [started_at, scope],
    )[0][0]
    return evaluated, seconds


def first_sweep() -> dict | None:
    """A county never swept raises all its alerts at its first sweep, which costs
    far more than the nightly re-sweep (a query or more per alert raised). It is
    timed apart, and the figure (a) is the re-sweep."""
    scope = [SWEEP_CHILDREN or 2**62]
    children = sql(
        "SELECT count(*) FROM escalation_childwatch WHERE evaluated_at IS NULL AND child_id <= %s",
        scope,
    )[0][0]
    if not children:
        return None
    sql(
        "UPDATE escalation_childwatch SET next_check_at = now() - interval '1 minute' "
        "WHERE evaluated_at IS NULL AND child_id <= %s",
        scope,
    )
    alerts_before = sql("SELECT count(*) FROM escalation_alert")[0][0]
    evaluated, seconds = sweep_until_done()
    raised = sql("SELECT count(*) FROM escalation_alert")[0][0] - alerts_before
    # The tables the first sweep filled, analysed as autovacuum soon would: planned
    # on the empty tables' statistics, the re-sweep's alert queries scan them whole.
    sql("ANALYZE")
    log(f"first sweep: {evaluated} children never swept, {raised} alerts raised, {seconds:.1f} s")
    return {"seconds": round(seconds, 1), "children": evaluated, "alerts_raised": raised}


def measure_sweep(info: dict) -> dict:
    first = first_sweep()
    floors, runs, evaluated = [], [], 0
    for run in range(SWEEP_RUNS):
        # Everyone due: what a nightly run over the whole county does.
        sql(
            "UPDATE escalation_childwatch SET next_check_at = now() - interval '1 minute' "
            "WHERE child_id <= %s",
            [SWEEP_CHILDREN or 2**62],
        )
        floors.append(sweep_floor())
        evaluated, seconds = sweep_until_done()
        runs.append(seconds)
        log(
            f"full sweep {run + 1}: {evaluated} children in {runs[-1]:.1f} s "
            f"(floor {floors[-1]:.2f} s)"
        )
    floors.extend(sweep_floor() for _ in range(max(0, RUNS - len(floors))))
    seconds, floor = median_of(runs), median_of(floors)
    return {
        "seconds": round(seconds, 2),
        "whole_county": SWEEP_CHILDREN is None,
        "seconds_per_child_ms": ms(seconds / evaluated),
        "floor_seconds": round(floor, 3),
        "ratio": round(seconds / floor, 1),
        "children_evaluated": evaluated,
        "runs": [round(r, 2) for r in runs],
        "first_sweep": first,
        "alerts": sql("SELECT count(*) FROM escalation_alert")[0][0],
        **alert_burden(info),
    }


NEXT_DAYS_SQL = """
SELECT (next_check_at AT TIME ZONE %s)::date AS day, count(*)
FROM escalation_childwatch
WHERE next_check_at > %s AND next_check_at <= %s AND child_id <= %s
GROUP BY 1 ORDER BY 1
"""


def measure_nightly(full_seconds: float | None) -> dict:
    """A night without the re-sweep of the county: only the children whose own
    moment (escalation.md, "When a child is evaluated") falls within the next 24
    hours are due. They are made due now, as the passing day would make them, and
    swept by the app's own task on a real worker; evaluated today, each works out
    the same moment again, so every run sweeps the same children. Also counted:
    how many children fall due on each of the next 30 days, the busiest of which
    (a month start, when the not-sustained look-back moves) is reported too."""
    from django.conf import settings

    scope = SWEEP_CHILDREN or 2**62
    children = sql("SELECT count(*) FROM escalation_childwatch WHERE child_id <= %s", [scope])[0][0]
    now = timezone.now()
    by_day = sql(NEXT_DAYS_SQL, [settings.TIME_ZONE, now, now + datetime.timedelta(days=30), scope])
    busiest = max((count for _, count in by_day), default=0)
    runs, evaluated = [], 0
    for run in range(SWEEP_RUNS):
        sql(
            "UPDATE escalation_childwatch SET next_check_at = now() - interval '1 minute' "
            "WHERE next_check_at <= now() + interval '1 day' AND child_id <= %s",
            [scope],
        )
        evaluated, seconds = sweep_until_done()
        runs.append(seconds)
        log(f"night {run + 1}: {evaluated} of {children} children due, {seconds:.2f} s")
    seconds = median_of(runs)
    return {
        "seconds": round(seconds, 3),
        "children_evaluated": evaluated,
        "fraction_of_children": round(evaluated / children, 4),
        "fraction_of_full": round(seconds / full_seconds, 4) if full_seconds else None,
        "busiest_of_next_30_days": {
            "children": busiest,
            "fraction_of_children": round(busiest / children, 4),
        },
        "runs": [round(r, 3) for r in runs],
    }


def scaling(previous: dict, results: dict) -> dict:
    """Each figure at each county size measured: the sizes kept from earlier runs,
    this size's from this run."""
    figures = {}
    for key, fields in SCALED.items():
        if key in results:
            figures[key] = {field: results[key].get(field) for field in fields}
    return {**previous.get("scaling", {}), str(results["children"]): figures}


SCALED = {
    "full_reevaluation": ("seconds", "ratio"),
    "nightly_sweep": ("seconds", "fraction_of_children", "fraction_of_full"),
    "chronology_page": ("ms", "queries"),
    "caseload": ("ms", "queries"),
    "dashboard": ("ms", "queries"),
    "ingest": ("rps", "p95_ms"),
    "alert_latency": ("p50_ms", "p95_ms"),
    "bulk_import": ("entries_per_s", "copy_floor_entries_per_s", "ratio"),
}


# An alert still standing: open, acknowledged or escalated (written out in each
# query below, so that none of them is built from strings).


def alert_burden(info: dict) -> dict:
    """Open alerts per 100 children and per social care team manager: what a
    county's managers would face on the morning after the sweep. Given for the
    whole bench county, and for the children drawn from the published mix alone:
    the children the pages and latency figures use (`visible`, the long
    chronology, the latency children) carry full chronologies whatever their tier."""
    measured = [*info["visible_ids"], info["long_child_id"], *info["latency_child_ids"]]
    children = sql("SELECT count(*) FROM chronology_child")[0][0]
    open_alerts = sql(
        "SELECT count(*) FROM escalation_alert "
        "WHERE status IN ('open', 'acknowledged', 'escalated')"
    )[0][0]
    mix_children = children - len(measured)
    mix_alerts = sql(
        "SELECT count(*) FROM escalation_alert "
        "WHERE status IN ('open', 'acknowledged', 'escalated') AND NOT child_id = ANY(%s)",
        [measured],
    )[0][0]
    managers = sql(
        "SELECT count(*) FROM agencies_user u JOIN agencies_agency a ON a.id = u.agency_id "
        "WHERE a.code = 'SC' AND u.role = 'manager'"
    )[0][0]
    by_rule = dict(
        sql(
            "SELECT rule_code, count(*) FROM escalation_alert "
            "WHERE status IN ('open', 'acknowledged', 'escalated') "
            "AND NOT child_id = ANY(%s) GROUP BY 1 ORDER BY 2 DESC",
            [measured],
        )
    )
    log(
        f"open alerts: {open_alerts} for {children} children; {mix_alerts} for the "
        f"{mix_children} drawn from the mix; {managers} team managers"
    )
    return {
        "open_alerts": open_alerts,
        "open_alerts_per_100_children": round(100 * open_alerts / children, 2),
        "open_alerts_per_manager": round(open_alerts / managers, 1) if managers else None,
        "mix_children": mix_children,
        "mix_open_alerts": mix_alerts,
        "mix_open_alerts_per_100_children": round(100 * mix_alerts / mix_children, 2),
        "mix_open_alerts_per_manager": round(mix_alerts / managers, 2) if managers else None,
        "mix_open_alerts_by_rule": by_rule,
    }


def measure_incremental(info: dict, full_seconds: float | None) -> dict:
    from agencies.models import User
    from chronology import services
    from chronology.models import Child

    worker = User.objects.get(pk=info["worker_id"])
    changed = max(1, info["children"] // 100)
    rng = random.Random(11)
    runs = []
    for run in range(SWEEP_RUNS):
        # 1% of the children get a new entry (from the bench agency, which sees only
        # VISIBLE children: a new entry for a random 1% of the whole county would
        # need each child's own agencies, and costs the sweep the same).
        pool = info["visible_ids"]
        ids = rng.sample(pool, min(changed, len(pool)))
        for child in Child.objects.filter(pk__in=ids):
            services.entry_record(
                actor=worker,
                children=[child],
                kind="concern",
                event_date=timezone.localdate() - datetime.timedelta(days=run + 1),
                categories=["neglect.hygiene"],
                severity=2,
                summary="Bench incremental entry",
            )
        # Past the grace the sweep gives the queue (whose messages sweep_until_done
        # purges: the sweep alone evaluates them).
        sql(
            "UPDATE escalation_childwatch SET due_since = due_since - interval '5 minutes' "
            "WHERE due_since IS NOT NULL"
        )
        evaluated, seconds = sweep_until_done()
        runs.append(seconds)
        log(f"incremental sweep {run + 1}: {evaluated} children in {runs[-1]:.2f} s")
    queue_purge()
    seconds = median_of(runs)
    return {
        "seconds": round(seconds, 3),
        "changed_children": len(ids),
        "seconds_per_child_ms": ms(seconds / len(ids)),
        # Only against a sweep of the whole county: nothing is extrapolated.
        "fraction_of_full": round(seconds / full_seconds, 4) if full_seconds else None,
    }


def queue_purge() -> None:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    client.close()


# --- (c) and (d): pages ---------------------------------------------------------------------


def timed_get(client, url: str, runs: int = RUNS) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: templates, connection
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        check(response.status_code == 200, f"{url}: {response.status_code}")
        queries = len(captured)
    return median_of(times), queries


# The same page (newest first, 50 rows, with the total) as one hand-written query.
# The child's links come first (a materialized CTE), so PostgreSQL cannot choose
# to walk the county's entry_event_date index instead.
PAGE_FLOOR_SQL = """
WITH mine AS MATERIALIZED (
    SELECT entry_id FROM chronology_entrychild WHERE child_id = %s
)
SELECT e.id, e.public_id, e.event_date, e.kind, e.severity, e.summary, a.name,
       (SELECT array_agg(c.category ORDER BY c.id) FROM chronology_entrycategory c
        WHERE c.entry_id = e.id),
       count(*) OVER ()
FROM mine
JOIN chronology_entry e ON e.id = mine.entry_id
JOIN agencies_agency a ON a.id = e.agency_id
ORDER BY e.event_date DESC, e.event_time DESC NULLS LAST, e.recorded_at DESC, e.id DESC
LIMIT 50
"""


def database_settle(longest: float = 120) -> None:
    """Let PostgreSQL finish what the sweeps left it (a checkpoint of their writes,
    autovacuum of the watches they rewrote) before the pages are timed, as it has
    by the time anyone opens a page in the morning. Up to `longest` seconds."""
    sql("CHECKPOINT")
    deadline = time.monotonic() + longest
    while (
        time.monotonic() < deadline
        and sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")[
            0
        ][0]
    ):
        time.sleep(1)


def pages_in_a_fresh_process() -> dict:
    """(c) and (d), measured by a process of their own, as a web worker serves them.
    Measured here, after the sweeps and the 3,000 entries the incremental runs
    record in this process, every page came out about 40 ms slower than in a
    fresh process, on an otherwise idle machine."""
    out = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "bench.run", "--pages"],
        cwd=BASE,
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    for name, figure in found.items():
        log(f"{name} (a fresh process): {figure}")
    return found


def measure_pages(info: dict) -> dict:
    from django.test import Client
    from django.urls import reverse

    from agencies.models import User
    from chronology.models import Child

    long_child = Child.objects.get(pk=info["long_child_id"])
    worker = User.objects.get(pk=info["worker_id"])
    manager = User.objects.get(pk=info["manager_id"])
    client = Client()
    client.force_login(worker)
    results = {}

    page_s, page_q = timed_get(client, reverse("child_detail", args=[long_child.public_id]))
    floor_times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        rows = sql(PAGE_FLOOR_SQL, [long_child.pk])
        floor_times.append(time.perf_counter() - started)
    check(len(rows) == 50)
    floor = median_of(floor_times)
    entries = sql("SELECT count(*) FROM chronology_entrychild WHERE child_id = %s", [long_child.pk])
    results["chronology_page"] = {
        "entries": entries[0][0],
        "ms": ms(page_s),
        "queries": page_q,
        "floor_ms": ms(floor),
        "ratio": round(page_s / floor, 1),
    }
    api_s, api_q = timed_get(client, f"/api/v1/children/{long_child.public_id}/entries/")
    results["api_chronology_page"] = {
        "ms": ms(api_s),
        "queries": api_q,
        "ratio": round(api_s / floor, 1),
    }

    home_s, home_q = timed_get(client, reverse("home"))
    results["caseload"] = {"visible": VISIBLE, "ms": ms(home_s), "queries": home_q}
    client.force_login(manager)
    dash_s, dash_q = timed_get(client, reverse("escalation_dashboard"))
    results["dashboard"] = {"ms": ms(dash_s), "queries": dash_q}
    for name, figure in results.items():
        log(f"{name}: {figure}")
    return results


# --- (e) and (f): over HTTP -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn with 2 workers on loopback, serving bench.settings (the app plus the
    framework-floor view)."""

    def __init__(self):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            prefix="bench-gunicorn-", suffix=".log"
        )
        # Served as in production: DEBUG off. DEBUG wraps every query in a timing
        # and logging cursor, nine times a POST for the app and once for the floor;
        # measured, the difference was within noise, but this is the fair setting.
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        }
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [
                gunicorn,
                "bench.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
                "--log-level",
                "warning",
            ],
            cwd=BASE,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(20)


WRK = shutil.which("wrk") or "/usr/bin/wrk"  # Debian's wrk


def wrk(port: int, paths: list[str], body: dict, auth: str = "") -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    env = {**os.environ, "BENCH_PATHS": f.name, "BENCH_BODY": json.dumps(body), "BENCH_AUTH": auth}
    command = [WRK, "-t", "2", "-c", str(CLIENTS), "-d", f"{INGEST_SECONDS}s", "--timeout", "10s"]
    command += ["-s", str(BASE / "bench" / "ingest.lua"), f"http://127.0.0.1:{port}"]
    out = subprocess.run(  # noqa: S603 - our own command line
        command,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=INGEST_SECONDS + 60,
    ).stdout
    os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    requests, duration_us, p95_us, p50_us, bad = (int(x) for x in line.split()[1:])
    if bad:
        raise RuntimeError(f"{bad} of {requests} requests did not succeed:\n{out}")
    return {"rps": requests / (duration_us / 1e6), "p95_ms": p95_us / 1000, "p50_ms": p50_us / 1000}


def db_floor(info: dict) -> dict:
    """16 clients, each on its own connection, each INSERTing the same row with raw
    psycopg2 (autocommit), for the same time as the HTTP runs."""
    import psycopg2

    stop = time.monotonic() + INGEST_SECONDS
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    agency, author = info["agency_ids"]["BLA"], info["worker_id"]

    def client(i):
        db = psycopg2.connect(os.environ["DATABASE_URL"])
        db.autocommit = True
        with db.cursor() as cursor:
            while time.monotonic() < stop:
                started = time.perf_counter()
                cursor.execute(
                    "INSERT INTO chronology_entry (public_id, event_date, date_precision, "
                    "recorded_at, kind, severity, summary, source_ref, extra, agency_id, author_id)"
                    " VALUES (gen_random_uuid(), current_date, 'day', now(), 'concern', 1, "
                    "'Bench floor entry', '', '{}', %s, %s)",
                    [agency, author],
                )
                latencies[i].append(time.perf_counter() - started)
        db.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for xs in latencies for x in xs)
    return {"rps": len(flat) / elapsed, "p95_ms": flat[int(len(flat) * 0.95)] * 1000}


ENTRY_BODY = {
    "kind": "concern",
    "event_date": None,
    "categories": ["other"],
    "severity": 1,
    "summary": "Bench ingest: pupil arrived late and hungry.",
}


def measure_ingest(info: dict) -> dict:
    from chronology.models import Child

    today = timezone.localdate().isoformat()
    uuids = list(
        Child.objects.filter(pk__in=info["visible_ids"]).values_list("public_id", flat=True)
    )
    app_paths = [f"/api/v1/children/{u}/entries/" for u in uuids]
    body = {**ENTRY_BODY, "event_date": today}
    floor_body = {**body, "agency_id": info["agency_ids"]["BLA"], "author_id": info["worker_id"]}
    del floor_body["categories"]
    server = Gunicorn()
    app, framework, database = [], [], []
    try:
        for run in range(max(1, RUNS // 2 + 1)):
            app.append(wrk(server.port, app_paths, body, f"Token {info['bench_token']}"))
            framework.append(wrk(server.port, ["/bench/floor/entries/"], floor_body))
            database.append(db_floor(info))
            log(
                f"ingest {run + 1}: app {app[-1]['rps']:.0f}/s p95 {app[-1]['p95_ms']:.0f} ms; "
                f"framework floor {framework[-1]['rps']:.0f}/s; "
                f"db floor {database[-1]['rps']:.0f}/s"
            )
            queue_purge()
    finally:
        server.stop()
        queue_purge()
    rps = median_of([r["rps"] for r in app])
    framework_rps = median_of([r["rps"] for r in framework])
    return {
        "clients": CLIENTS,
        "rps": round(rps, 1),
        "p95_ms": round(median_of([r["p95_ms"] for r in app]), 1),
        "framework_floor_rps": round(framework_rps, 1),
        "framework_floor_p95_ms": round(median_of([r["p95_ms"] for r in framework]), 1),
        "ratio": round(rps / framework_rps, 2),
        "db_floor_rps": round(median_of([r["rps"] for r in database]), 1),
        "db_floor_p95_ms": round(median_of([r["p95_ms"] for r in database]), 2),
    }


def latency_children_prepare(count: int = 40) -> list[int]:
    """Children one concern short of the frequency-neglect pattern (three recent
    neglect concerns from two agencies), made through the app's services so that
    every run of the bench has its own: a child whose alert an earlier run raised
    cannot be timed again. Their queued evaluations are purged before the worker
    starts; only the fourth concern, over HTTP, is timed."""
    from agencies.models import Agency, User
    from chronology import services

    lead = User.objects.get(username="sc-lead")
    school, visitor = (
        User.objects.get(username="sch-practitioner"),
        User.objects.get(username="hv-practitioner"),
    )
    agencies = Agency.objects.filter(code__in=["SCH", "HV", "BLA"])
    today = timezone.localdate()
    ids = []
    for n in range(count):
        child = services.child_create(actor=lead, given_names=f"Latency {n}", family_name="Bench")
        for agency in agencies:
            services.involvement_grant(
                actor=lead,
                child=child,
                agency=agency,
                reason="Bench latency child",
                started_on=today - datetime.timedelta(days=90),
            )
        for days_ago, author in [(60, school), (45, visitor), (30, school)]:
            services.entry_record(
                actor=author,
                children=[child],
                kind="concern",
                event_date=today - datetime.timedelta(days=days_ago),
                categories=["neglect.nutrition"],
                severity=2,
                summary="Bench latency: no breakfast again",
            )
        ids.append(child.pk)
    return ids


def measure_alert_latency(info: dict) -> dict:
    """(f): from the HTTP 201 of a child's fourth concern to its alert row, with a
    real worker on Redis: first on a quiet system, then while a full re-evaluation
    of the whole county (a rule set or scoring activated) runs on the same worker
    (`during_sweep`), where a new entry's evaluation queues behind the sweep's
    slices."""
    from escalation.tasks import evaluations_sweep

    quiet_ids = latency_children_prepare()
    night_ids = latency_children_prepare(count=NIGHT_SAMPLES)
    queue_purge()
    server = Gunicorn()
    worker = CeleryWorker()
    try:
        quiet = alerts_timed(server.port, info, quiet_ids)
        # Everyone due, as activating a rule set makes them, and beat's sweep queued.
        sql("UPDATE escalation_childwatch SET next_check_at = now() - interval '1 minute'")
        evaluations_sweep.delay()
        time.sleep(2)  # the sweep and its helper under way
        started_at = timezone.now()
        night = alerts_timed(server.port, info, night_ids, while_=lambda: sweep_running(started_at))
    finally:
        worker.stop()
        server.stop()
        queue_purge()
    return {**percentiles(quiet), "during_sweep": percentiles(night)}


# Alerts timed while a full re-evaluation runs: as many as it leaves time for.
NIGHT_SAMPLES = 20


def sweep_running(since) -> bool:
    """Whether the nightly sweep still has children to do: watches made due before
    `since` and not yet evaluated (the timed children's own marks do not count)."""
    due = "SELECT EXISTS (SELECT 1 FROM escalation_childwatch WHERE next_check_at <= %s)"
    return bool(sql(due, [since])[0][0])


def alerts_timed(port: int, info: dict, child_ids: list[int], while_=lambda: True) -> list:
    """POST each child's fourth concern and poll for its frequency alert; the
    seconds from each 201 to the alert row, while `while_()` holds."""
    import http.client

    from chronology.models import Child

    samples = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for child in Child.objects.filter(pk__in=child_ids).order_by("pk"):
        if not while_():
            break
        body = {
            **ENTRY_BODY,
            "event_date": timezone.localdate().isoformat(),
            "categories": ["neglect.nutrition"],
            # Not minor: rule set 2's repeated-concerns rule leaves severity 1 out.
            "severity": 2,
        }
        conn.request(
            "POST",
            f"/api/v1/children/{child.public_id}/entries/",
            json.dumps(body),
            {"Content-Type": "application/json", "Authorization": f"Token {info['bench_token']}"},
        )
        response = conn.getresponse()
        response.read()
        created = time.perf_counter()
        check(response.status == 201, str(response.status))
        while time.perf_counter() - created < 60:
            if sql(
                "SELECT 1 FROM escalation_alert WHERE child_id = %s AND rule_code = "
                "'frequency-neglect'",
                [child.pk],
            ):
                samples.append(time.perf_counter() - created)
                break
            time.sleep(0.005)
        else:
            raise RuntimeError(f"no alert for child {child.pk} within 60 s")
    conn.close()
    return samples


def percentiles(samples: list) -> dict:
    if not samples:
        return {"samples": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    samples = sorted(samples)
    return {
        "samples": len(samples),
        "p50_ms": ms(statistics.median(samples)),
        "p95_ms": ms(samples[min(len(samples) - 1, int(round(len(samples) * 0.95)) - 1)]),
        "max_ms": ms(samples[-1]),
    }


# --- the table ------------------------------------------------------------------------------

# --- bulk import: a county's legacy entries through the services -----------------------------

BULK_ENTRIES = int(os.environ.get("BENCH_BULK_ENTRIES", "20000"))
BULK_CHILDREN = int(os.environ.get("BENCH_BULK_CHILDREN", "2000"))
BULK_AGENCY = "BULK"


def bulk_import_prepare(info: dict) -> list[str]:
    """The refs of the children the bulk import writes to: county children that an
    agency of the bench's own (BULK, so no one's caseload changes) works with, the
    access rule an import needs. Set-up, made once per county and kept."""
    from agencies.models import Agency
    from chronology.models import Child, Involvement

    agency, _ = Agency.objects.get_or_create(
        code=BULK_AGENCY, defaults={"name": "Bench bulk import", "kind": "social_care"}
    )
    taken = set(info["visible_ids"]) | set(info["latency_child_ids"]) | {info["long_child_id"]}
    children = list(
        Child.objects.exclude(pk__in=taken)
        .filter(ref__isnull=False)
        .order_by("-pk")
        .values_list("pk", "ref")[:BULK_CHILDREN]
    )
    involved = set(Involvement.objects.filter(agency=agency).values_list("child_id", flat=True))
    today = timezone.localdate()
    Involvement.objects.bulk_create(
        Involvement(
            child_id=pk,
            agency=agency,
            started_on=today - datetime.timedelta(days=365),
            reason="Bench bulk import",
            created_by_id=info["manager_id"],
        )
        for pk, _ in children
        if pk not in involved
    )
    return [ref for _, ref in children]


def bulk_csv(refs: list[str], run: int) -> tuple[bytes, list[tuple]]:
    """BULK_ENTRIES legacy concerns spread over the children, as a CSV file and as
    the (date, summary, ref) of each row for the COPY floor. Each run's file differs."""
    rng = random.Random(run)
    today = timezone.localdate()
    lines = [
        "date,date_precision,agency,children,kind,categories,severity,summary,child_words,"
        "action,status"
    ]
    rows = []
    for n in range(BULK_ENTRIES):
        ref = refs[n % len(refs)]
        day = today - datetime.timedelta(days=rng.randrange(30, 3650))
        summary = f"Legacy record {run}-{n}: missed health appointment"
        lines.append(f"{day},day,{BULK_AGENCY},{ref},concern,neglect.health,2,{summary},,,")
        rows.append((day, summary, ref))
    return ("\n".join(lines) + "\n").encode(), rows


def bulk_copy_floor(rows: list[tuple], refs_to_ids: dict, agency_id: int, author_id: int) -> float:
    """The same entries, their child links and categories written with COPY in one
    transaction: no validation, no audit, no provenance, no evaluation."""
    import io
    import uuid

    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('chronology_entry', 'id')) "
            "FROM generate_series(1, %s)",
            [len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        entries, links, categories = io.StringIO(), io.StringIO(), io.StringIO()
        now = timezone.now().isoformat()
        for entry_id, (day, summary, ref) in zip(ids, rows, strict=True):
            entries.write(
                f"{entry_id}\t{uuid.uuid4()}\t{day}\tday\t{now}\tconcern\t2\t{summary}"
                f"\t\t{{}}\t{agency_id}\t{author_id}\n"
            )
            links.write(f"{entry_id}\t{refs_to_ids[ref]}\n")
            categories.write(f"{entry_id}\tneglect.health\n")
        for table, columns, buffer in (
            (
                "chronology_entry",
                "id, public_id, event_date, date_precision, recorded_at, kind, severity, "
                "summary, source_ref, extra, agency_id, author_id",
                entries,
            ),
            ("chronology_entrychild", "entry_id, child_id", links),
            ("chronology_entrycategory", "entry_id, category", categories),
        ):
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
    return time.perf_counter() - started


def measure_bulk_import(info: dict) -> dict:
    """A county's legacy entries imported from CSV through the app's own path
    (chronology.interchange.import_csv: the file checked whole, then batches through
    services.entries_record_bulk, each with its audit row, provenance and marks,
    evaluations queued after each commit), against COPY of the same rows."""
    from agencies.models import Agency
    from agencies.services import service_account_get
    from chronology import interchange
    from chronology.models import Child

    refs = bulk_import_prepare(info)
    agency = Agency.objects.get(code=BULK_AGENCY)
    actor = service_account_get(purpose="import")
    refs_to_ids = dict(Child.objects.filter(ref__in=refs).values_list("ref", "pk"))
    stamp = int(time.time())
    app, floor = [], []
    for run in range(RUNS):
        raw, rows = bulk_csv(refs, stamp * 100 + run)
        started = time.perf_counter()
        result = interchange.import_csv(
            raw, file_name=f"bench-bulk-{stamp}-{run}.csv", as_agency=agency, actor=actor
        )
        seconds = time.perf_counter() - started
        check(result.entries == BULK_ENTRIES)
        queue_purge()
        floor_seconds = bulk_copy_floor(rows, refs_to_ids, agency.pk, actor.pk)
        app.append(BULK_ENTRIES / seconds)
        floor.append(BULK_ENTRIES / floor_seconds)
        log(
            f"bulk import {run + 1}: {app[-1]:.0f} entries/s through the services; "
            f"COPY {floor[-1]:.0f} entries/s"
        )
    entries_per_s, copy_per_s = median_of(app), median_of(floor)
    return {
        "entries": BULK_ENTRIES,
        "children": len(refs),
        "entries_per_s": round(entries_per_s, 1),
        "copy_floor_entries_per_s": round(copy_per_s, 1),
        "ratio": round(copy_per_s / entries_per_s, 2),
        "runs": [round(x, 1) for x in app],
    }


TARGETS = {
    "sweep": "full re-evaluation ≤ 15× floor",
    "nightly_sweep": "≤ 5% of children, ≤ 5% of a full re-evaluation",
    "incremental_sweep": "≤ 5% of full",
    "chronology_page": "≤ 100 ms, ≤ 15 queries",
    "api_chronology_page": "≤ 100 ms, ≤ 15 queries",
    "caseload": "≤ 200 ms",
    "dashboard": "≤ 200 ms",
    "ingest": "≥ 150/s, p95 ≤ 150 ms at 16 clients",
    "alert_latency": "p95 ≤ 1 s",
    "alert_latency_during_full": "p95 ≤ 1 s",
    "bulk_import": "≥ 2,000 entries/s",
}


def table(results: dict) -> str:
    r = results
    rows = []

    def row(name, figure, floor, ok):
        rows.append(
            f"| {name} | {figure} | {floor} | {TARGETS[name]} | {'met' if ok else 'MISSED'} |"
        )

    if "sweep" in r:
        s = r["sweep"]
        row(
            "sweep",
            f"{s['seconds']} s ({s['children_evaluated']} children)",
            f"{s['floor_seconds']} s (ratio {s['ratio']}×)",
            s["ratio"] <= 15,
        )
    if "nightly_sweep" in r:
        s = r["nightly_sweep"]
        busiest = s["busiest_of_next_30_days"]
        row(
            "nightly_sweep",
            f"{s['seconds']} s ({s['children_evaluated']} children, "
            f"{s['fraction_of_children']:.2%}; busiest of the next 30 days "
            f"{busiest['fraction_of_children']:.2%})",
            f"{s['fraction_of_full']:.2%} of a full re-evaluation"
            if s["fraction_of_full"] is not None
            else "n/a: the full sweep did not cover the county",
            s["fraction_of_children"] <= 0.05
            and s["fraction_of_full"] is not None
            and s["fraction_of_full"] <= 0.05,
        )
    if "incremental_sweep" in r:
        s = r["incremental_sweep"]
        row(
            "incremental_sweep",
            f"{s['seconds']} s ({s['changed_children']} children)",
            f"{s['fraction_of_full']:.2%} of full"
            if s["fraction_of_full"] is not None
            else "n/a: the full sweep did not cover the county",
            s["fraction_of_full"] is not None and s["fraction_of_full"] <= 0.05,
        )
    if "chronology_page" in r:
        for name in ("chronology_page", "api_chronology_page"):
            s = r[name]
            row(
                name,
                f"{s['ms']} ms, {s['queries']} queries",
                f"{r['chronology_page']['floor_ms']} ms raw SQL",
                s["ms"] <= 100 and s["queries"] <= 15,
            )
        for name in ("caseload", "dashboard"):
            s = r[name]
            row(name, f"{s['ms']} ms, {s['queries']} queries", "", s["ms"] <= 200)
    if "ingest" in r:
        s = r["ingest"]
        row(
            "ingest",
            f"{s['rps']}/s, p95 {s['p95_ms']} ms",
            f"framework {s['framework_floor_rps']}/s ({s['ratio']:.0%}), db {s['db_floor_rps']}/s",
            s["rps"] >= 150 and s["p95_ms"] <= 150,
        )
    if "alert_latency" in r:
        s = r["alert_latency"]
        row(
            "alert_latency",
            f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms ({s['samples']})",
            "",
            s["p95_ms"] is not None and s["p95_ms"] <= 1000,
        )
        if "during_sweep" in s:
            full = s["during_sweep"]
            row(
                "alert_latency_during_full",
                f"p50 {full['p50_ms']} ms, p95 {full['p95_ms']} ms, max {full['max_ms']} ms "
                f"({full['samples']})",
                "",
                full["p95_ms"] is not None and full["p95_ms"] <= 1000,
            )
    if "bulk_import" in r:
        s = r["bulk_import"]
        row(
            "bulk_import",
            f"{s['entries_per_s']} entries/s",
            f"COPY {s['copy_floor_entries_per_s']} entries/s (ratio {s['ratio']}×)",
            s["entries_per_s"] >= 2000,
        )
    head = "| figure | measured | floor | target | |\n| --- | --- | --- | --- | --- |"
    return "\n".join([head, *rows])


def main() -> None:
    info = county_ready()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results = dict(previous) if ONLY else {}
    results.update({"children": info["children"], "entries": info["entries"]})

    def save() -> None:
        # After every figure: a run that fails later keeps what it measured.
        results["machine"] = {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "postgresql": sql("SHOW server_version")[0][0],
            "measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        results["scaling"] = scaling(previous, results)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    def full_seconds() -> float | None:
        sweep = results.get("sweep", {})
        return sweep.get("seconds") if sweep.get("whole_county") else None

    if wanted("sweep"):
        # Every child due: what activating a rule set or a scoring does.
        results["sweep"] = measure_sweep(info)
        results["full_reevaluation"] = {
            "seconds": results["sweep"]["seconds"],
            "ratio": results["sweep"]["ratio"],
            "floor_seconds": results["sweep"]["floor_seconds"],
        }
        save()
    if wanted("nightly"):
        results["nightly_sweep"] = measure_nightly(full_seconds())
        save()
    if wanted("incremental"):
        results["incremental_sweep"] = measure_incremental(info, full_seconds())
        save()
    if wanted("pages"):
        database_settle()
        results.update(pages_in_a_fresh_process())
        save()
    if wanted("ingest"):
        results["ingest"] = measure_ingest(info)
        save()
    if wanted("latency"):
        results["alert_latency"] = measure_alert_latency(info)
        save()
    if wanted("bulk_import"):
        # Last: it adds entries to the county's children.
        results["bulk_import"] = measure_bulk_import(info)
    save()
    print(table(results))
    log(f"wrote {RESULTS}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--pages"]:  # pages_in_a_fresh_process
        from django.conf import settings

        county = county_ready()
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        print(json.dumps(measure_pages(county)))
    else:
        main()
