"""Assessment evidence's triggers now come from the model (AppendOnlyModel's Meta);
chronology 0010 dropped the hand-written one of 0004. TRUNCATE is refused too."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('neglect_tool', '0005_optimistic_revision'),
        ('chronology', '0010_append_only_triggers_on_the_models'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='assessmentevidence',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='8bb8a5513458dff891e28e95653a7ef3f7dcf101', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_073c7', table='neglect_tool_assessmentevidence', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='assessmentevidence',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='971af001b7ff34d52ec82aab35ea7555c6842d5d', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_256ac', table='neglect_tool_assessmentevidence', when='BEFORE')),
        ),
    ]
