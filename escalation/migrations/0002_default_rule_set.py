"""Load the default rule set, version 1 (escalation/defaults.py).

Re-runnable: does nothing when a rule set exists. Reversible while version 1 is
the only one and has raised no alerts.
"""

from django.db import migrations


def load_defaults(apps, schema_editor):
    from escalation import defaults

    RuleSet = apps.get_model("escalation", "RuleSet")
    Rule = apps.get_model("escalation", "Rule")
    if RuleSet.objects.exists():
        return
    rule_set = RuleSet.objects.create(
        version=1,
        status="active",
        note="Default rules shipped with the system; see the README's escalation section.",
        level_2_after_working_hours=defaults.LEVEL_2_AFTER_WORKING_HOURS,
        level_3_after_working_hours=defaults.LEVEL_3_AFTER_WORKING_HOURS,
    )
    for rule in defaults.RULES:
        Rule.objects.create(
            rule_set=rule_set,
            code=rule["code"],
            type=rule["type"],
            params=rule["params"],
            notify_roles=rule.get("notify_roles", defaults.LEADS),
            notify_agency_kinds=rule.get("notify_agency_kinds", []),
        )


def unload_defaults(apps, schema_editor):
    RuleSet = apps.get_model("escalation", "RuleSet")
    Alert = apps.get_model("escalation", "Alert")
    if RuleSet.objects.count() == 1 and not Alert.objects.exists():
        apps.get_model("escalation", "Rule").objects.all().delete()
        RuleSet.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_rules_alerts_and_watch")]

    operations = [migrations.RunPython(load_defaults, unload_defaults)]
