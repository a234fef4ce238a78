"""The audit trail's entry points for every app, and what a request notes for it.

The audit table (chronology.AuditEvent) belongs to chronology, which registers
its writer here when it starts (ChronologyConfig.ready), so that an app below
chronology in the stack (agencies) audits its changes in the same transaction
without importing chronology. The refusal notes are plain request state and
live here whole."""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

# The id of the request being served, set by safeguarding.middleware; empty for
# commands and workers.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")

# What the access rule refused while serving this request: a dict that
# safeguarding.middleware.AccessRefusalAuditMiddleware makes empty at the start of each
# request and reads at its end; None for commands and workers.
refusal_var: ContextVar[dict | None] = ContextVar("refusal", default=None)

_writers: dict[str, Callable[..., Any]] = {}


def audit_writer_register(*, record: Callable[..., Any], record_each: Callable[..., Any]) -> None:
    """Install the functions that write audit rows (chronology.audit's)."""
    _writers["record"] = record
    _writers["record_each"] = record_each


def _writer(name: str) -> Callable[..., Any]:
    try:
        return _writers[name]
    except KeyError:
        # Never skip an audit row silently: a change without its row must fail.
        raise RuntimeError("No audit writer is registered (is chronology installed?)") from None


def audit_record(*, actor, action: str, child=None, obj=None, details: dict | None = None):
    """Append one audit row inside the caller's transaction (chronology.audit.audit_record)."""
    return _writer("record")(actor=actor, action=action, child=child, obj=obj, details=details)


def audit_record_each(*, actor, action: str, children, obj=None, details: dict | None = None):
    """One audit row per child in one INSERT (chronology.audit.audit_record_each)."""
    return _writer("record_each")(
        actor=actor, action=action, children=children, obj=obj, details=details
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
