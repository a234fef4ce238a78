from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"

    def ready(self) -> None:
        # The apps below escalation announce their changes; escalation listens
        # rather than being called, so that imports run one way (docs/architecture.md).
        from chronology.signals import children_changed
        from chronology.vocabulary import rule_types_register
        from neglect_tool.signals import scoring_config_activated

        from . import receivers
        from .models import RuleType

        rule_types_register(RuleType)

        children_changed.connect(
            receivers.on_children_changed, dispatch_uid="escalation.children_changed"
        )
        scoring_config_activated.connect(
            receivers.on_scoring_config_activated,
            dispatch_uid="escalation.scoring_config_activated",
        )
