"""`make run`'s embedded PostgreSQL (safeguarding/embedded_pg.py): the real server from
the pip wheel, started in a folder of the test's own, its roles made by the real
`manage.py database_roles`, a query as the app's role, then stopped."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from safeguarding import embedded_pg
from safeguarding.settings import database_from_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def connect(url: str):
    """Connect as settings.py would (the socket's folder comes from ?host=)."""
    entry = database_from_url(url)
    return psycopg2.connect(
        dbname=entry["NAME"],
        user=entry["USER"],
        password=entry["PASSWORD"] or None,
        host=entry["HOST"],
        port=entry["PORT"] or None,
        connect_timeout=5,
    )


@pytest.fixture
def server(tmp_path):
    data_dir = tmp_path / "postgres"
    urls = embedded_pg.start(data_dir)
    try:
        yield data_dir, urls
    finally:
        embedded_pg.stop(data_dir)


def test_starts_makes_the_roles_serves_the_app_role_and_stops(server):
    data_dir, urls = server
    assert set(urls) == {"DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL"}
    # A Unix socket only: the URLs name a folder, never a TCP host.
    assert database_from_url(urls["DATABASE_URL"])["HOST"].startswith("/")

    # The roles and the database, as `make run` makes them (scripts/run-dev.sh).
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "database_roles"],
        cwd=ROOT,
        env=env | urls | {"DEBUG": "true"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )

    with connect(urls["DATABASE_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), 1 + 1")
        assert cursor.fetchone() == (embedded_pg.APP_ROLE, embedded_pg.DATABASE, 2)
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
        # The app's role owns nothing and may not create tables: least privilege holds.
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("CREATE TABLE not_allowed (id int)")
    with connect(urls["DATABASE_OWNER_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )
        assert cursor.fetchone() == (embedded_pg.OWNER_ROLE,)

    # Found again from its postmaster.pid, as settings.py finds it without DATABASE_URL.
    assert embedded_pg.urls(data_dir) == urls

    assert embedded_pg.stop(data_dir) is True
    assert not (data_dir / "postmaster.pid").exists()
    with pytest.raises(psycopg2.OperationalError):
        connect(urls["DATABASE_URL"])
    # Stopping again is harmless.
    assert embedded_pg.stop(data_dir) is False


def test_a_second_start_reuses_the_running_server(server):
    data_dir, urls = server
    pid = (data_dir / "postmaster.pid").read_text().split()[0]
    assert embedded_pg.start(data_dir) == urls
    assert (data_dir / "postmaster.pid").read_text().split()[0] == pid
