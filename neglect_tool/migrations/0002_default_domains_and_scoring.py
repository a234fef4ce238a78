"""Load the default domains and scoring version 1 (neglect_tool/defaults.py).

Re-runnable: it leaves existing domains and versions alone. Reversible: it
removes version 1 only while it is the sole version and nothing else changed.
"""

from decimal import Decimal

from django.db import migrations


def load_defaults(apps, schema_editor):
    from neglect_tool import defaults

    Domain = apps.get_model("neglect_tool", "Domain")
    ScoringConfig = apps.get_model("neglect_tool", "ScoringConfig")
    for position, (code, name, description) in enumerate(defaults.DOMAINS):
        Domain.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "position": position}
        )
    if ScoringConfig.objects.exists():
        return
    ScoringConfig.objects.create(
        version=1,
        status="active",
        note="Default model shipped with the system; see the README's neglect model section.",
        half_life_days=defaults.HALF_LIFE_DAYS,
        corroboration_window_days=defaults.CORROBORATION_WINDOW_DAYS,
        corroboration_factor=Decimal(str(defaults.CORROBORATION_FACTOR)),
        severity_factors=defaults.SEVERITY_FACTORS,
        kind_factors=defaults.KIND_FACTORS,
        category_rules={
            category: {"domain": domain, "weight": weight, "default_severity": severity}
            for category, (domain, weight, severity) in defaults.CATEGORY_RULES.items()
        },
        assessment_keys=defaults.ASSESSMENT_KEYS,
        assessment_weight=Decimal(str(defaults.ASSESSMENT_WEIGHT)),
        early_help_from=Decimal(str(defaults.LEVEL_CUT_POINTS["early_help"])),
        targeted_from=Decimal(str(defaults.LEVEL_CUT_POINTS["targeted"])),
        statutory_from=Decimal(str(defaults.LEVEL_CUT_POINTS["statutory"])),
    )


def unload_defaults(apps, schema_editor):
    ScoringConfig = apps.get_model("neglect_tool", "ScoringConfig")
    if ScoringConfig.objects.count() == 1:
        ScoringConfig.objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("neglect_tool", "0001_domains_and_scoring_config")]

    operations = [migrations.RunPython(load_defaults, unload_defaults)]
