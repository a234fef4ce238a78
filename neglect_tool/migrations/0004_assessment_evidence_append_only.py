"""Assessment evidence is append-only inside PostgreSQL too (see chronology 0002)."""

from django.db import migrations

TABLE = "neglect_tool_assessmentevidence"


def create_trigger(apps, schema_editor):
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION chronology_refuse_change();"
    )


def drop_trigger(apps, schema_editor):
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};")


class Migration(migrations.Migration):
    dependencies = [
        ("neglect_tool", "0003_assessment_evidence"),
        ("chronology", "0002_append_only_triggers"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
