"""When the database cannot be reached: a clean 503, never a stack trace.

PostgreSQL restarting, failing over or refusing connections surfaces as Django's
OperationalError or InterfaceError. The API answers these itself
(safeguarding.api.exception_handler); this module answers them everywhere else:

- DatabaseUnavailableMiddleware.process_exception, when a view raised one;
- a got_request_exception receiver, when another middleware raised one before or
  after the view (SessionLimitsMiddleware reads and writes the session and the
  user's sessions; SessionMiddleware saves the session). Django has already made
  that a 500 by the time it reaches us; the middleware swaps it for the 503.

The page is rendered without the request, so no context processor, and so no
query, runs. Nothing here reconnects: Django closes a connection that raised once
the request ends, and CONN_HEALTH_CHECKS replaces a persistent connection that
died between requests, so the next request after the database is back succeeds.
"""

import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.csp import CSP, build_policy

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# Long enough for a restart or a fail-over; clients retry after it.
RETRY_AFTER_SECONDS = 10
DETAIL = "The service is temporarily unavailable. Please try again shortly."
_NOTED = "_database_unavailable"


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def database_unavailable_log(request, exc: BaseException) -> None:
    """The details go to the server's log only; the client learns nothing of them."""
    logger.warning(
        "Database unavailable: %s %s answered 503 (request %s)",
        request.method,
        request.path,
        getattr(request, "request_id", "-"),
        exc_info=exc,
    )


def unavailable_response(request) -> HttpResponse:
    """The 503 for a page or an API call: the same few words, no detail of the fault."""
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": DETAIL}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _note_database_error(sender, request=None, **kwargs) -> None:
    # Django sends this from inside its `except`, so the exception is current.
    exc = sys.exception()
    if request is not None and database_unavailable(exc):
        setattr(request, _NOTED, exc)


got_request_exception.connect(_note_database_error, dispatch_uid="safeguarding.db_errors")


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection into a 503. It sits outside every
    middleware that touches the database (sessions, session limits, second factor,
    lockout), so it sees what they raise too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, _NOTED, None)
        if exc is None or response.status_code != 500:
            return response
        database_unavailable_log(request, exc)
        response = unavailable_response(request)
        # The middlewares that add these sit inside this one and have been passed.
        response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
        if settings.SECURE_CSP:
            response[CSP.HEADER_ENFORCE] = build_policy(settings.SECURE_CSP)
        return response

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        database_unavailable_log(request, exception)
        return unavailable_response(request)
