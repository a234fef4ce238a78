"""System checks for least privilege in PostgreSQL (docs/database-roles.md)."""

from django.conf import settings
from django.core import checks
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from chronology.models import APPEND_ONLY_TRIGGERS

from . import db_roles


@checks.register(checks.Tags.models)
def append_only_models_declare_their_triggers(app_configs=None, **kwargs):
    """A model marked append-only whose Meta does not inherit AppendOnlyModel.Meta has
    lost its triggers: its table would take UPDATE, DELETE and TRUNCATE."""
    errors = []
    for model in db_roles.append_only_models():
        declared = {trigger.name for trigger in getattr(model._meta, "triggers", [])}
        missing = sorted(set(APPEND_ONLY_TRIGGERS) - declared)
        if missing:
            errors.append(
                checks.Error(
                    f"{model._meta.label} is append-only but declares no {', '.join(missing)} "
                    "trigger.",
                    hint="Write its Meta as `class Meta(AppendOnlyModel.Meta):`.",
                    obj=model,
                    id="safeguarding.E001",
                )
            )
    return errors


@checks.register(checks.Tags.database)
def database_roles(app_configs=None, databases=None, **kwargs):
    """Run by `manage.py check --database default` once the migrations are applied:
    the app's role must not be a superuser nor own the tables, and every append-only
    table must have its triggers installed."""
    if not databases or "default" not in databases:
        return []
    connection = connections["default"]
    problems = []
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        # Before or during `migrate`: the migrations about to run install the triggers
        # and the grants, so there is nothing to judge yet.
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        user, superuser = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s",
            [user],
        )
        owned = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
        )
        installed = set(cursor.fetchall())
    # migrate connects as the owner on purpose; the app's own connections are checked.
    if user == db_roles.app_role() or not db_roles.two_roles():
        level = checks.Warning if settings.DEBUG else checks.Error
        if superuser:
            problems.append(f"the app connects to PostgreSQL as {user}, a superuser")
        elif owned:
            problems.append(f"the app's role {user} owns {owned} table(s)")
        problems = [
            level(
                f"Least privilege: {problem}.",
                hint="Give DATABASE_URL a role that owns nothing and DATABASE_OWNER_URL "
                "the owner; run `manage.py database_roles` (README, Database roles).",
                id="safeguarding.E002" if level is checks.Error else "safeguarding.W002",
            )
            for problem in problems
        ]
    for model in db_roles.append_only_models():
        for trigger in model._meta.triggers:
            if (model._meta.db_table, trigger.get_pgid(model)) not in installed:
                problems.append(
                    checks.Error(
                        f"{model._meta.db_table} has no enabled {trigger.name} trigger in the "
                        "database.",
                        hint="Run `manage.py migrate`; never disable these triggers.",
                        obj=model,
                        id="safeguarding.E003",
                    )
                )
    return problems
