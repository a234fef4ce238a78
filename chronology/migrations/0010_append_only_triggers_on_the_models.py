"""Append-only is declared once, on the models (chronology.models.AppendOnlyModel),
and django-pgtrigger installs its triggers from there. The hand-written trigger
lists of 0002 and neglect_tool 0004 go; in their place every append-only table
refuses UPDATE, DELETE and, new, TRUNCATE. EntryRequest had no trigger at all."""

from importlib import import_module

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# The tables that had a hand-written trigger, and the function they all called.
OLD_TRIGGER_TABLES = [
    *import_module("chronology.migrations.0002_append_only_triggers").APPEND_ONLY_TABLES,
    "neglect_tool_assessmentevidence",
]


def drop_hand_written_triggers(apps, schema_editor):
    for table in OLD_TRIGGER_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS chronology_refuse_change();")


def restore_hand_written_triggers(apps, schema_editor):
    import_module("chronology.migrations.0002_append_only_triggers").create_triggers(
        apps, schema_editor
    )
    import_module("neglect_tool.migrations.0004_assessment_evidence_append_only").create_trigger(
        apps, schema_editor
    )


class Migration(migrations.Migration):

    dependencies = [
        ('chronology', '0009_entry_request_keys'),
        ('neglect_tool', '0004_assessment_evidence_append_only'),
    ]

    operations = [
        migrations.RunPython(drop_hand_written_triggers, restore_hand_written_triggers),
        pgtrigger.migrations.AddTrigger(
            model_name='amendment',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='354efe8480382151b46b2bff1fa996d9fb5dcd45', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_a8197', table='chronology_amendment', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='amendment',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='d0bb583479bf91905307f284327647c205b60194', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_1e095', table='chronology_amendment', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='bab4392153ffdb4ad797fe99ccade527911e9ee2', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_b9911', table='chronology_auditevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='auditevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='cebe4b221029dec197d93e72d75c1254e137ad3b', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_e4e97', table='chronology_auditevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='decisionattendance',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='03f0d65952ec91e0508e9a3840611614af0e7a7f', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_52b4e', table='chronology_decisionattendance', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='decisionattendance',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='ab5e7b3144aec3a2d3c3a22bb5a259da8c74b8b4', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_25926', table='chronology_decisionattendance', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entry',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='f1bc7fe6c2d91ddb980636ae7437cef8364e1089', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_85afa', table='chronology_entry', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entry',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='c9b1756bef193351a53654693d4baa8f7141390b', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_939bb', table='chronology_entry', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entryadult',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='1256babdc1b7e575e38fc68361b3511d4d003bd5', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_c6c9d', table='chronology_entryadult', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entryadult',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='de151f9bb56c641c10eb916fc3d59421e6de567e', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_4563b', table='chronology_entryadult', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entrycategory',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='4fb3b4bdca49880edba789f676cb3ff3515c8e11', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_71cb8', table='chronology_entrycategory', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entrycategory',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='a08d7f96415947ef57614d015b99e294d1f39bbc', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_2ab58', table='chronology_entrycategory', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entrychild',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='41f220368ea5a0f9ac3b192dd2126945f0b0e6a3', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_88235', table='chronology_entrychild', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entrychild',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='235206f0492236be6cd9ef2a62b21d5d6bc95f9c', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_7519e', table='chronology_entrychild', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entryrequest',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='7393c90e2717a86b82049df051517f818305cb9b', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_cf62f', table='chronology_entryrequest', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='entryrequest',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='5baebc078ca7626964da77b0121d8cd2986a448a', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_8db71', table='chronology_entryrequest', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='notificationack',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='87d3edf2a67dcb57fae5c2b4dccb7f32f9113970', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_de8a1', table='chronology_notificationack', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='notificationack',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='b6968a599f2327b49a254c7b027addfdbbfdc474', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_3a8b4', table='chronology_notificationack', when='BEFORE')),
        ),
    ]
