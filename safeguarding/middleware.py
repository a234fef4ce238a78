import re
import uuid

from chronology.audit import access_denied_record
from core.audit import refusal_var, request_id_var

# Accept a caller's request id only if it looks like one, so logs stay clean.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID, or a new one), put it on
    each audit row written while serving it, and send it back in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class AccessRefusalAuditMiddleware:
    """Write one `access.denied` audit row for each request that the access rule
    refused with a 404 (a page, an API endpoint, an export: HTML and DRF alike).

    The access checks (core.audit.access_refused) only note what they refused;
    the row is written here, after the view, because the view's transaction, which
    its 404 rolls back, would take the row with it. One request, at most one row. The
    response is left exactly as it was."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        noted: dict = {}
        token = refusal_var.set(noted)
        try:
            response = self.get_response(request)
        finally:
            refusal_var.reset(token)
        if response.status_code == 404 and noted:
            access_denied_record(
                refusal=noted,
                path=request.path,
                method=request.method,
                resolver_match=getattr(request, "resolver_match", None),
            )
        return response
