"""Writing the audit trail. Call `audit_record` inside the transaction of the change.

The rows are chronology.AuditEvent; apps below chronology reach these writers
through core.audit, where ChronologyConfig.ready registers them. The request's
notes (request_id_var, refusal_var, access_refused) live in core.audit and are
imported here for chronology's own callers."""

from collections.abc import Iterable

from django.db import transaction

from core.audit import (  # noqa: F401 - chronology's callers import these from here
    access_refusal_wanted,
    access_refused,
    refusal_var,
    request_id_var,
)

from .models import AuditEvent, Child


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


def audit_record_per_child(
    *, actor, action: str, obj=None, details: Iterable[tuple[Child, dict | None]]
) -> list[AuditEvent]:
    """Append one audit row for each (child, details) pair (the same action on the
    same object, each child its own details), all in one INSERT, inside the caller's
    transaction like audit_record."""
    _require_transaction()
    return AuditEvent.objects.bulk_create(
        _audit_row(actor=actor, action=action, child=child, obj=obj, details=extra)
        for child, extra in details
    )


def access_denied_record(*, refusal: dict, path: str, method: str, resolver_match) -> AuditEvent:
    """One `access.denied` row for a refused read: the user, the route and, if the
    child exists, the child. Its own transaction: the view's has ended by now."""
    route = {
        "path": path,
        "method": method,
        "route": getattr(resolver_match, "route", "") or "",
        "url_name": getattr(resolver_match, "view_name", "") or "",
    }
    details = {
        **route,
        "asked_for": refusal["asked_for"],
        "public_id": str(refusal["public_id"] or ""),
    }
    with transaction.atomic():
        row = _audit_row(
            actor=refusal["user"], action="access.denied", child=None, obj=None, details=details
        )
        row.child_id = refusal["child_id"]
        row.save(force_insert=True)
    return row
