"""Default retention classes. Set them to your authority's retention schedule in
the admin; these are starting points, not legal advice. Re-runnable."""

from django.db import migrations

DEFAULTS = [
    (
        "looked_after",
        "Looked-after children",
        [
            "looked_after",
            "police_protection",
            "interim_care_order",
            "care_order",
            "placed_for_adoption",
        ],
        "age",
        75,
        30,
    ),
    (
        "child_protection",
        "Child protection",
        ["child_protection_plan"],
        "after_last_contact",
        35,
        20,
    ),
    (
        "children_in_need",
        "Children in need and early help",
        ["child_in_need", "early_help"],
        "after_last_contact",
        25,
        10,
    ),
    ("default", "Other records", [], "after_last_contact", 6, 0),
]


def load(apps, schema_editor):
    RetentionClass = apps.get_model("chronology", "RetentionClass")
    for code, name, statuses, basis, years, priority in DEFAULTS:
        RetentionClass.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "statuses": statuses,
                "basis": basis,
                "years": years,
                "priority": priority,
            },
        )


def unload(apps, schema_editor):
    apps.get_model("chronology", "RetentionClass").objects.filter(
        code__in=[d[0] for d in DEFAULTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("chronology", "0006_retention_classes")]

    operations = [migrations.RunPython(load, unload)]
