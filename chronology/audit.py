"""Writing the audit trail. Call `audit_record` inside the transaction of the change."""

from contextvars import ContextVar

from django.db import transaction

from .models import AuditEvent, Child

# The id of the request being served, set by safeguarding.middleware; empty for
# commands and workers.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")


def audit_record(
    *,
    actor,
    action: str,
    child: Child | None = None,
    obj=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit row. Must run inside the caller's transaction, so that a
    change and its audit row are committed together or not at all."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change")
    return AuditEvent.objects.create(
        actor=actor,
        actor_agency_id=actor.agency_id,
        actor_role=actor.role,
        action=action,
        child=child,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "public_id", None) or getattr(obj, "pk", "")) if obj else "",
        details=details or {},
        request_id=request_id_var.get(),
    )
