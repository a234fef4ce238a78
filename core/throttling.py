"""How fast the API may be called (README "Security").

- ApiUserThrottle: per signed-in user or token (DRF's UserRateThrottle, scope "user").
- ApiAnonThrottle: per client address for calls that are not authenticated: no
  credentials, or a wrong, expired or revoked token (DRF's AnonRateThrottle,
  scope "anon"), so guessing tokens is slowed too.

Rates come from API_THROTTLE_USER_RATE and API_THROTTLE_ANON_RATE. Counts live
in the Django cache (Redis when REDIS_URL is set, shared by every process).
If the cache cannot be reached the call is let through and a warning logged:
a throttle must not take the API down with Redis, which the app otherwise
survives (the outbox and the sweep).

DRF checks throttles after authentication and permissions, so a call with no
or a bad token would get its 401 without ever being counted.
ThrottleFirstMixin checks them before.
"""

import logging

from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)

# Where a throttle leaves a failed authentication, so the view raises it as before.
AUTH_ERROR = "_throttle_auth_error"


def _authenticated(request) -> bool:
    """Whether the call is authenticated. Resolving request.user runs the
    authenticators; a wrong token's error is kept for the view to raise."""
    try:
        user = request.user
    except AuthenticationFailed as error:
        setattr(request, AUTH_ERROR, error)
        return False
    return bool(user is not None and user.is_authenticated)


class _FailOpen:
    def get_rate(self):
        # DRF reads the rates once, into a class attribute, when the module is first
        # imported; reading them here lets a changed setting (a test's) take effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except AuthenticationFailed:
            raise
        except Exception:  # noqa: BLE001 - the cache is away: let the call through
            logger.warning("API throttle skipped: the cache could not be reached", exc_info=True)
            return True


class ApiUserThrottle(_FailOpen, UserRateThrottle):
    def get_cache_key(self, request, view):
        if not _authenticated(request):
            return None  # ApiAnonThrottle counts it
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiAnonThrottle(_FailOpen, AnonRateThrottle):
    def get_cache_key(self, request, view):
        if _authenticated(request):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ThrottleFirstMixin:
    """For API views: throttles before authentication's verdict, each call counted once."""

    def perform_authentication(self, request):
        self.check_throttles(request)
        error = getattr(request, AUTH_ERROR, None)
        if error is not None:
            raise error
        super().perform_authentication(request)

    def check_throttles(self, request):
        if getattr(request, "_throttles_checked", False):
            return
        request._throttles_checked = True
        super().check_throttles(request)
