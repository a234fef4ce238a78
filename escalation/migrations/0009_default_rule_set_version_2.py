"""Rule set version 2 (escalation/defaults.py RULES_V2) becomes the active set.

Version 1 is kept, retired, with its rules: alerts name the rules they came
from. Re-runnable: does nothing if a version 2 exists, or if an administrator
has activated a version other than 1 (their choice stands). Reversible while
version 2 has raised no alerts: version 1 is active again.
"""

from django.db import migrations
from django.utils import timezone


def load_version_2(apps, schema_editor):
    from escalation import defaults

    RuleSet = apps.get_model("escalation", "RuleSet")
    Rule = apps.get_model("escalation", "Rule")
    if RuleSet.objects.filter(version=2).exists():
        return
    active = RuleSet.objects.filter(status="active").first()
    if active is not None and active.version != 1:
        return
    if active is not None:
        active.status = "retired"
        active.save(update_fields=["status"])
    rule_set = RuleSet.objects.create(
        version=2,
        status="active",
        note=(
            "Default rules, version 2: plan and looked-after children covered while reviews "
            "run to cadence, episodes dated from the history, improvement not sustained "
            "counted only at a level that matters after a real gap, frequency from "
            "moderate concerns, and the "
            "injury rule for babies not yet mobile (docs/escalation.md)."
        ),
        level_2_after_working_hours=active.level_2_after_working_hours
        if active
        else defaults.LEVEL_2_AFTER_WORKING_HOURS,
        level_3_after_working_hours=active.level_3_after_working_hours
        if active
        else defaults.LEVEL_3_AFTER_WORKING_HOURS,
        partnership=active.partnership if active else None,
        activated_at=timezone.now(),
    )
    for rule in defaults.RULES_V2:
        Rule.objects.create(
            rule_set=rule_set,
            code=rule["code"],
            type=rule["type"],
            params=rule["params"],
            notify_roles=rule.get("notify_roles", defaults.LEADS),
            notify_agency_kinds=rule.get("notify_agency_kinds", []),
        )


def unload_version_2(apps, schema_editor):
    RuleSet = apps.get_model("escalation", "RuleSet")
    Alert = apps.get_model("escalation", "Alert")
    BackTest = apps.get_model("escalation", "BackTest")
    version_2 = RuleSet.objects.filter(version=2).first()
    if version_2 is None or Alert.objects.filter(rule__rule_set=version_2).exists():
        return
    BackTest.objects.filter(rule_set=version_2).delete()
    BackTest.objects.filter(baseline=version_2).delete()
    version_2.rules.all().delete()
    was_active = version_2.status == "active"
    version_2.delete()
    if was_active:
        RuleSet.objects.filter(version=1).update(status="active")


class Migration(migrations.Migration):
    dependencies = [("escalation", "0008_rule_type_injury_non_mobile")]

    operations = [migrations.RunPython(load_version_2, unload_version_2)]
