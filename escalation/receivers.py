"""escalation's subscriptions to the signals of the apps below it, connected in
EscalationConfig.ready. Each runs in the sender's transaction."""

from .services import children_mark_for_evaluation, watches_due_all


def on_children_changed(sender, *, child_ids, **kwargs) -> None:
    children_mark_for_evaluation(child_ids)


def on_scoring_config_activated(sender, *, at, **kwargs) -> None:
    watches_due_all(now=at)
