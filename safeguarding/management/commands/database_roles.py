"""Create the two PostgreSQL roles and the database, and set who owns what.

Run with a superuser's URL in DATABASE_ADMIN_URL (or --admin-url); safe to run
again at any time. The role names, passwords and database come from DATABASE_URL
(the app's role) and DATABASE_OWNER_URL (the owner). docs/database-roles.md."""

import os
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg2 import sql

from safeguarding import db_roles


def _parts(url: str) -> dict:
    parts = urlsplit(url)
    return {
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        # A Unix socket's folder comes as libpq's ?host= (safeguarding/embedded_pg.py).
        "host": parse_qs(parts.query).get("host", [parts.hostname or ""])[0],
        "port": parts.port or 5432,
        "dbname": unquote(parts.path.lstrip("/")),
    }


class Command(BaseCommand):
    help = (
        "Create the owner and app roles and the database (idempotent); the owner owns "
        "the schema and its objects, the app's role gets only what it needs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            default=os.environ.get("DATABASE_ADMIN_URL", ""),
            help="A superuser's postgres:// URL (default: DATABASE_ADMIN_URL).",
        )
        parser.add_argument(
            "--test-databases",
            action="store_true",
            help="Let the owner create databases, as the test runner does (test_<name>).",
        )

    def handle(self, *args, admin_url, test_databases, **options):
        if not admin_url:
            raise CommandError("Set DATABASE_ADMIN_URL (a superuser's URL) or pass --admin-url.")
        if not db_roles.two_roles():
            raise CommandError("DATABASE_URL and DATABASE_OWNER_URL must name two different roles.")
        app, owner = _parts(settings.DATABASE_URL), _parts(settings.DATABASE_OWNER_URL)
        admin = _parts(admin_url)
        if owner["dbname"] != app["dbname"]:
            raise CommandError("DATABASE_URL and DATABASE_OWNER_URL must name the same database.")
        database = app["dbname"]

        # CREATE DATABASE cannot run in a transaction: autocommit, statement by statement.
        with self._connect(admin, admin["dbname"] or "postgres") as cursor:
            self._role(cursor, owner, createdb=test_databases)
            self._role(cursor, app, createdb=False)
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cursor.fetchone() is None:
                cursor.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(owner["user"])
                    )
                )
                self.stdout.write(f"Created the database {database}.")
            else:
                cursor.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(database), sql.Identifier(owner["user"])
                    )
                )
            for statement in (
                "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
                "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}",
            ):
                cursor.execute(
                    sql.SQL(statement).format(
                        db=sql.Identifier(database), app=sql.Identifier(app["user"])
                    )
                )

        handed_over = [database]
        if test_databases:
            # A test database left by a run as another role (a superuser, say) passes
            # to the owner too, so that --reuse-db keeps working.
            test_database = f"test_{database}"
            with self._connect(admin, admin["dbname"] or "postgres") as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [test_database])
                if cursor.fetchone() is not None:
                    cursor.execute(
                        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                            sql.Identifier(test_database), sql.Identifier(owner["user"])
                        )
                    )
                    handed_over.append(test_database)
        for name in handed_over:
            with self._connect(admin, name) as cursor:
                self._schema(cursor, owner=owner["user"], app=app["user"])

        # The grants on the tables that exist; `migrate` applies them again afterwards.
        with db_roles.as_owner():
            db_roles.grants_apply()
        self.stdout.write(
            f"Roles ready: {owner['user']} owns {database}; {app['user']} owns nothing."
        )

    def _connect(self, admin: dict, dbname: str):
        connection = psycopg2.connect(
            dbname=dbname,
            user=admin["user"],
            password=admin["password"] or None,
            host=admin["host"] or None,
            port=admin["port"],
        )
        connection.autocommit = True
        return _Cursor(connection)

    def _role(self, cursor, role: dict, *, createdb: bool) -> None:
        name = sql.Identifier(role["user"])
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role["user"]])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
            self.stdout.write(f"Created the role {role['user']}.")
        # Never a superuser, never able to make roles or bypass row security, whatever
        # it was before; the owner creates databases only where tests need it.
        options = "LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        options += " CREATEDB" if createdb else " NOCREATEDB"
        cursor.execute(sql.SQL("ALTER ROLE {} " + options).format(name))
        if role["password"]:
            cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(name), [role["password"]])

    def _schema(self, cursor, *, owner: str, app: str) -> None:
        o, a = sql.Identifier(owner), sql.Identifier(app)
        cursor.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(o))
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(a))
        # Objects made earlier by another role (a superuser's migrate, say) pass to the
        # owner: tables first, which carries their identity sequences with them.
        cursor.execute(
            """
            SELECT c.relname, c.relkind FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              AND pg_get_userbyid(c.relowner) <> %s
              AND NOT EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND c.relkind = 'S'
              )
            ORDER BY c.relkind = 'S', c.relname
            """,
            [owner],
        )
        kinds = {"r": "TABLE", "p": "TABLE", "f": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
        for name, kind in cursor.fetchall():
            cursor.execute(
                sql.SQL("ALTER {} {} OWNER TO {}").format(
                    sql.SQL(kinds.get(kind, "SEQUENCE")), sql.Identifier("public", name), o
                )
            )
        cursor.execute(
            """
            SELECT p.oid::regprocedure::text FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> %s
            """,
            [owner],
        )
        for (signature,) in cursor.fetchall():
            cursor.execute(sql.SQL("ALTER ROUTINE {} OWNER TO {}").format(sql.SQL(signature), o))
        # What the owner creates later is readable and insertable by the app at once;
        # `migrate` then adds UPDATE and DELETE where they belong.
        cursor.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT ON TABLES TO {}"
            ).format(o, a)
        )
        cursor.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT USAGE ON SEQUENCES TO {}"
            ).format(o, a)
        )


class _Cursor:
    """A cursor whose connection closes with it."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        self.cursor = self.connection.cursor()
        return self.cursor

    def __exit__(self, *exc):
        self.cursor.close()
        self.connection.close()
