"""What chronology tells the apps above it, without importing them.

chronology sits below escalation in the stack (docs/architecture.md, "Layers"),
so it cannot call escalation's services. It sends these signals instead, and
escalation subscribes in its AppConfig.ready."""

from django.dispatch import Signal

# Sent inside the transaction of a change to children's records, with `child_ids`,
# the ids of the children whose chronology changed. A receiver that writes does so
# in that same transaction (escalation marks the children due for evaluation, so a
# lost queue message loses nothing), and an error in it rolls the change back.
children_changed = Signal()
