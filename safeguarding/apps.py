from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """The project package as an app: its management commands (database_roles, and
    migrate as the owner role) and its system checks."""

    name = "safeguarding"
    verbose_name = "Safeguarding chronology"

    def ready(self):
        from . import checks  # noqa: F401 - registers the checks
