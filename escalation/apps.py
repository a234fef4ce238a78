from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"

    def ready(self) -> None:
        # The apps below escalation announce their changes; escalation listens
        # rather than being called, so that imports run one way (docs/architecture.md).
        from django.db.models.signals import post_delete, post_save

        from chronology.signals import children_changed
        from chronology.vocabulary import rule_types_register
        from neglect_tool.signals import scoring_config_activated

        from . import receivers
        from .models import Holiday, RuleType

        rule_types_register(RuleType)

        children_changed.connect(
            receivers.on_children_changed, dispatch_uid="escalation.children_changed"
        )
        scoring_config_activated.connect(
            receivers.on_scoring_config_activated,
            dispatch_uid="escalation.scoring_config_activated",
        )
        for signal in (post_save, post_delete):
            signal.connect(
                receivers.on_holidays_changed,
                sender=Holiday,
                dispatch_uid=f"escalation.holidays_changed.{signal is post_save}",
            )
