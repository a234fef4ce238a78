"""What neglect_tool tells the apps above it, without importing them (see
chronology/signals.py)."""

from django.dispatch import Signal

# Sent inside the transaction that activates a scoring configuration, with `at`, the
# moment it took effect; escalation makes every watched child due for evaluation.
scoring_config_activated = Signal()
