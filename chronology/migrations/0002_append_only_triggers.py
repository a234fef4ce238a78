"""Make the chronology and audit tables append-only inside PostgreSQL.

Django already refuses updates and deletes (chronology.models.AppendOnlyModel),
but raw SQL, a shell or another client could still change the record. These
triggers refuse UPDATE and DELETE at the database.
"""

from django.db import migrations

APPEND_ONLY_TABLES = [
    "chronology_entry",
    "chronology_entrychild",
    "chronology_entryadult",
    "chronology_entrycategory",
    "chronology_decisionattendance",
    "chronology_amendment",
    "chronology_notificationack",
    "chronology_auditevent",
]

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION chronology_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the table % is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record an amendment instead of changing or deleting a chronology record.';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    # params=None: the function body has literal % signs for RAISE, not placeholders.
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION chronology_refuse_change();"
        )


def drop_triggers(apps, schema_editor):
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS chronology_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("chronology", "0001_children_and_chronology")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
