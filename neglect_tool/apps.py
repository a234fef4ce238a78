from django.apps import AppConfig


class NeglectToolConfig(AppConfig):
    name = "neglect_tool"

    def ready(self) -> None:
        # chronology.vocabulary names domains for every page, but sits below this app.
        from chronology.vocabulary import domains_register

        from .defaults import DOMAINS
        from .selectors import domain_name_stored

        domains_register(
            defaults={code: name for code, name, _ in DOMAINS}, lookup=domain_name_stored
        )
