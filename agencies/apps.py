from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and staff"

    def ready(self):
        # Stamp each sign-in on its session and record the session against the user.
        from .auth import connect_signals

        connect_signals()
