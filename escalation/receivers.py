"""escalation's subscriptions to the signals of the apps below it, connected in
EscalationConfig.ready. Each runs in the sender's transaction."""

from django.utils import timezone

from .services import children_mark_for_evaluation, watches_due_all, watches_due_with_timers


def on_children_changed(sender, *, child_ids, **kwargs) -> None:
    children_mark_for_evaluation(child_ids)


def on_scoring_config_activated(sender, *, at, **kwargs) -> None:
    watches_due_all(now=at)


def on_holidays_changed(sender, **kwargs) -> None:
    # The evaluation's working-day deadlines (Operation Encompass's, a looked-after
    # child's first review) were worked out from the holidays: work them out again.
    # Alerts already on the ladder keep the times they were given.
    watches_due_with_timers(now=timezone.now())
