"""Least privilege in PostgreSQL (issue 14, item 3; docs/database-roles.md).

The tests connect as the app's role (DATABASE_URL). Every model marked append-only
(found from the models, not listed here) refuses that role UPDATE, DELETE,
TRUNCATE and ALTER TABLE; the role is no superuser and owns nothing. The triggers
declared on the models refuse UPDATE, DELETE and TRUNCATE even to the owner.
"""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction

from chronology import services
from chronology.models import AuditEvent, Entry, EntryRequest
from chronology.vocabulary import EntryKind
from escalation.models import AlertEvent
from neglect_tool.models import AssessmentEvidence
from safeguarding import checks, db_roles

APPEND_ONLY = db_roles.append_only_models()

STATEMENTS = [
    "UPDATE {table} SET id = id",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "TRUNCATE {table} CASCADE",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} ADD COLUMN rewritten text",
    "DROP TABLE {table} CASCADE",
]


def refused(sql: str) -> str:
    """Run sql in a savepoint as the current connection; return PostgreSQL's refusal."""
    with pytest.raises(DatabaseError) as refusal, transaction.atomic(), connection.cursor() as c:
        c.execute(sql)
    return str(refusal.value)


def test_the_append_only_models_are_found_from_the_models():
    found = set(APPEND_ONLY)
    # The ones the outside attack named, and the evidence behind assessments.
    assert {Entry, AuditEvent, EntryRequest, AlertEvent, AssessmentEvidence} <= found
    assert all(model._meta.triggers for model in found)


@pytest.mark.django_db
def test_the_app_connects_as_a_second_role_that_is_no_superuser_and_owns_nothing():
    assert db_roles.two_roles(), "Set DATABASE_OWNER_URL: the tests run with two roles"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, createrole, createdb, bypassrls = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user)"
        )
        owned = cursor.fetchone()[0]
        cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [db_roles.owner_role()])
        member_of_owner = cursor.fetchone()[0]
        cursor.execute(
            "SELECT has_schema_privilege(current_user, 'public', 'CREATE'), "
            "pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = current_database()"
        )
        can_create, database_owner = cursor.fetchone()
    assert user == db_roles.app_role() != db_roles.owner_role()
    assert not (superuser or createrole or createdb or bypassrls)
    assert owned == 0
    assert not member_of_owner
    assert not can_create
    assert database_owner == db_roles.owner_role()


@pytest.mark.django_db
@pytest.mark.parametrize("statement", STATEMENTS)
@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda model: model._meta.label)
def test_the_app_role_cannot_change_an_append_only_table(model, statement):
    message = refused(statement.format(table=model._meta.db_table))
    assert "permission denied" in message or "must be owner" in message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        # The statements that succeeded in the attack (issue 14).
        "TRUNCATE chronology_auditevent",
        "TRUNCATE chronology_entry CASCADE",
        "UPDATE escalation_alertevent SET reason = 'edited'",
        "DELETE FROM chronology_entryrequest",
        "ALTER TABLE chronology_auditevent DISABLE TRIGGER ALL",
    ],
)
def test_what_the_attack_did_is_refused(sql):
    refused(sql)


@pytest.mark.django_db
def test_the_app_role_has_no_truncate_anywhere_and_deletes_only_where_listed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = current_user AND table_schema = 'public'"
        )
        grants = cursor.fetchall()
    kinds = {kind for _, kind in grants}
    assert kinds <= {"SELECT", "INSERT", "UPDATE", "DELETE"}
    deleted_from = {table for table, kind in grants if kind == "DELETE"}
    expected = {
        table for table, granted in db_roles.table_privileges().items() if "DELETE" in granted
    }
    assert deleted_from == expected
    updated = {table for table, kind in grants if kind == "UPDATE"}
    assert not updated & {model._meta.db_table for model in APPEND_ONLY}


@pytest.mark.django_db
def test_every_append_only_table_has_its_triggers_installed():
    assert checks.database_roles(databases=["default"]) == []


def test_a_model_that_loses_its_triggers_fails_the_system_check(monkeypatch):
    monkeypatch.setattr(AlertEvent._meta, "triggers", [])
    errors = checks.append_only_models_declare_their_triggers()
    assert [(error.id, error.obj) for error in errors] == [("safeguarding.E001", AlertEvent)]


@pytest.mark.django_db(transaction=True)
def test_the_triggers_refuse_the_owner_too(bob, child):
    """The owner may change its tables' privileges, but the triggers still refuse it
    UPDATE, DELETE and TRUNCATE on every append-only table."""
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.hygiene"],
        severity=2,
        event_date=datetime.date(2026, 3, 2),
        summary="Head lice, untreated",
    )
    with db_roles.as_owner():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == db_roles.owner_role()
        assert "Cannot update or delete" in refused("UPDATE chronology_entry SET summary = 'x'")
        assert "Cannot update or delete" in refused("DELETE FROM chronology_auditevent")
        for model in APPEND_ONLY:
            # CASCADE, or a foreign key would refuse first.
            truncate = f"TRUNCATE {model._meta.db_table} CASCADE"
            assert "Cannot truncate the append-only table" in refused(truncate)
    assert Entry.objects.get().summary == "Head lice, untreated"


def test_every_table_the_app_deletes_from_is_named_correctly():
    """A mistyped label in ROWS_DELETED would silently leave its table without DELETE."""
    from django.apps import apps

    installed = {config.label for config in apps.get_app_configs()}
    for label in db_roles.ROWS_DELETED:
        app_label, model_name = label.split(".")
        if app_label in installed:
            assert apps.get_model(app_label, model_name)._meta.label == label
