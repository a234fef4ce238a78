"""Least privilege in PostgreSQL: the app's role and the owner's (docs/database-roles.md).

- The owner role (DATABASE_OWNER_URL) owns the schema and runs the migrations.
- The app's role (DATABASE_URL) owns nothing. On every table it may SELECT and
  INSERT; UPDATE on every table that is not append-only; DELETE only on the
  tables named in ROWS_DELETED below; never TRUNCATE, never DDL.

The grants are derived from the models, so a new table is covered by the next
`migrate` (safeguarding/management/commands/migrate.py re-applies them).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Model

# The tables whose rows the app deletes, each with the reason. Any other table
# refuses DELETE to the app's role. A label whose app is not installed is skipped.
ROWS_DELETED: dict[str, str] = {
    "sessions.Session": "signing out ends a session; clearsessions removes expired ones",
    "agencies.UserSession": "a user's sessions are forgotten when they sign out or are deactivated",
    "otp_totp.TOTPDevice": "an unconfirmed authenticator is replaced when enrolment starts again",
    "axes.AccessAttempt": "a successful sign-in, or an admin, clears the failed attempts",
    "axes.AccessAttemptExpiration": "goes with its failed attempt",
    "axes.AccessFailureLog": "django-axes prunes its own failure log",
    "axes.AccessLog": "django-axes prunes its own access log",
    "guardian.UserObjectPermission": "a named person's access to one child is withdrawn",
    "guardian.GroupObjectPermission": "a group's access to one object is withdrawn",
    "agencies.User_groups": "the admin site takes a user out of a group",
    "agencies.User_user_permissions": "the admin site takes a permission from a user",
    "auth.Group_permissions": "the configuration group's permissions are set to the list in code",
    "escalation.Holiday": "a bank holiday entered by mistake is removed in the admin site",
    "escalation.Rule": "a rule is removed from a draft rule set (never from an active one)",
    "chronology.RetentionClass": "a retention class is configuration, removed in the admin site",
    "neglect_tool.Domain": "a domain is configuration, removed in the admin site",
    "agencies.Agency": "an agency added by mistake is removed; one with records is protected",
    "agencies.User": "an account added by mistake is removed; one with records is protected",
}

# Read by runserver's and migrate's check for unapplied migrations.
TABLES_READ_ONLY = ["django_migrations"]


def _credentials(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password or "")


def app_role() -> str:
    return _credentials(settings.DATABASE_URL)[0]


def owner_role() -> str:
    return _credentials(settings.DATABASE_OWNER_URL)[0]


def two_roles() -> bool:
    """False when the app connects as the owner (one URL for both)."""
    return app_role() != owner_role()


def append_only_models() -> list[type[Model]]:
    """Every model marked append-only: a subclass of chronology's AppendOnlyModel."""
    from chronology.models import AppendOnlyModel

    return [m for m in apps.get_models() if issubclass(m, AppendOnlyModel)]


def table_privileges() -> dict[str, list[str]]:
    """db_table -> the privileges the app's role gets on it, for every model's table."""
    append_only = {m._meta.db_table for m in append_only_models()}
    privileges = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        granted = ["SELECT", "INSERT"]
        if meta.db_table not in append_only:
            granted.append("UPDATE")
        if meta.label in ROWS_DELETED:
            granted.append("DELETE")
        privileges[meta.db_table] = granted
    for table in TABLES_READ_ONLY:
        privileges[table] = ["SELECT"]
    return privileges


@contextmanager
def connection_as(role: str, using: str = "default") -> Iterator[None]:
    """Connect `using` as "owner" or "app" inside the block, and as before after it.

    Only the user and password change, so a test database's name stays. The
    connection is closed on the way in and out: it cannot be inside a transaction."""
    connection = connections[using]
    url = settings.DATABASE_OWNER_URL if role == "owner" else settings.DATABASE_URL
    wanted = _credentials(url)
    before = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
    if not url or wanted == before:
        yield
        return
    if connection.in_atomic_block:
        raise RuntimeError(f"connection_as({role!r}) cannot switch roles inside a transaction")
    connection.close()
    connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = wanted
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = before


def as_owner(using: str = "default"):
    """Run the block as the owner role: migrations, and tests that need the owner."""
    return connection_as("owner", using)


def grants_apply(*, using: str = "default") -> list[str]:
    """Give the app's role exactly the privileges of table_privileges(), and nothing
    else, on the tables that exist. Run as the owner (or a superuser); idempotent.
    Returns the statements run (none with a single role)."""
    if not two_roles():
        return []
    connection = connections[using]
    quote = connection.ops.quote_name
    app = quote(app_role())
    with transaction.atomic(using=using), connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        statements = [
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}",
            f"GRANT USAGE ON SCHEMA public TO {app}",
        ]
        for table, granted in sorted(table_privileges().items()):
            if table in existing:
                statements.append(f"GRANT {', '.join(granted)} ON {quote(table)} TO {app}")
        # Identity columns draw from sequences; USAGE is nextval() and nothing more.
        statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app}")
        for statement in statements:
            cursor.execute(statement)
    return statements
