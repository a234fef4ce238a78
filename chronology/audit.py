"""Writing the audit trail. Call `audit_record` inside the transaction of the change."""

from collections.abc import Iterable
from contextvars import ContextVar

from django.db import transaction

from .models import AuditEvent, Child

# The id of the request being served, set by safeguarding.middleware; empty for
# commands and workers.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change")


def _audit_row(*, actor, action: str, child: Child | None, obj, details: dict | None):
    return AuditEvent(
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
    _require_transaction()
    row = _audit_row(actor=actor, action=action, child=child, obj=obj, details=details)
    row.save(force_insert=True)
    return row


def audit_record_each(
    *,
    actor,
    action: str,
    children: Iterable[Child],
    obj=None,
    details: dict | None = None,
) -> list[AuditEvent]:
    """Append one audit row for each of `children` (the same action on the same
    object), all in one INSERT, inside the caller's transaction like audit_record."""
    _require_transaction()
    return AuditEvent.objects.bulk_create(
        _audit_row(actor=actor, action=action, child=child, obj=obj, details=details)
        for child in children
    )
