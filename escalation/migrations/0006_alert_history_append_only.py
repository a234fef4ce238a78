"""An alert's history (AlertEvent) and its evidence links (AlertEvidence) are
append-only: written once, never updated, deleted or truncated."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('escalation', '0005_watch_month_totals'),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name='alertevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='c21f561304b07be0524fd55ff4aed811d77483ca', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_9bca8', table='escalation_alertevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='alertevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='2caa6bdb9ce49970021242715c2f03327cbc59cf', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_886fb', table='escalation_alertevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='alertevidence',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='c233b92474e4a05fb2ed70d2793aa1eb0eec843e', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_4cec3', table='escalation_alertevidence', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='alertevidence',
            trigger=pgtrigger.compiler.Trigger(name='append_only_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;", hash='34ae3ff260647047938b4082ff95fefad1dab2fe', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_append_only_truncate_d2dd3', table='escalation_alertevidence', when='BEFORE')),
        ),
    ]
