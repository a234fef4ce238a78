"""Writing the audit trail. Call `audit_record` inside the transaction of the change."""

from collections.abc import Iterable
from contextvars import ContextVar

from django.db import transaction

from .models import AuditEvent, Child

# The id of the request being served, set by safeguarding.middleware; empty for
# commands and workers.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")

# What the access rule refused while serving this request: a dict that
# safeguarding.middleware.AccessRefusalAuditMiddleware makes empty at the start of each
# request and reads at its end; None for commands and workers.
refusal_var: ContextVar[dict | None] = ContextVar("refusal", default=None)


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


def access_refusal_wanted() -> bool:
    """Whether a refusal now would be recorded: inside a request that has noted none
    yet. Lets a check skip the query that finds the refused object's child."""
    noted = refusal_var.get()
    return noted is not None and not noted


def access_refused(*, user, asked_for: str, public_id=None, child_id: int | None = None) -> None:
    """Note that the access rule refused `user` the `asked_for` object ("child",
    "entry", "alert", "notification") with this public id, about the child with id
    `child_id` if it exists.

    Nothing is written here: the refusal is usually raised inside the view's
    transaction, which its 404 rolls back. AccessRefusalAuditMiddleware writes one
    `access.denied` row after the view, if the request is answered with a 404. The
    first refusal of a request is the one recorded. Outside a request, a no-op."""
    noted = refusal_var.get()
    if noted is None or noted or not getattr(user, "is_authenticated", False):
        return
    noted.update(user=user, asked_for=asked_for, public_id=public_id, child_id=child_id)


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
