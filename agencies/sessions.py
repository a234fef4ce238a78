"""What a sign-in stamps on the session, and who must pass a second factor.
safeguarding.security's middleware enforces the limits these stamps start."""

import time

from django.conf import settings

from .services import user_session_record

# Session keys: Unix times of the sign-in and of the last recorded request.
LOGIN_AT = "_auth_login_at"
LAST_SEEN = "_auth_last_seen"
# The session key last written to agencies.UserSession, so a rotated key is recorded too.
RECORDED_KEY = "_auth_recorded_key"


def otp_required_for(user) -> bool:
    """Whether `user` must pass a second factor (settings.OTP_REQUIRED_ROLES, or "all").
    Superusers and staff (who reach the admin) always must, unless nobody must."""
    roles = settings.OTP_REQUIRED_ROLES
    if not roles:
        return False
    return "all" in roles or user.role in roles or user.is_superuser or user.is_staff


def session_start(request, user) -> None:
    """Stamp a new sign-in on the session and record the session against the user."""
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    if request.session.session_key is None:
        request.session.save()
    request.session[RECORDED_KEY] = request.session.session_key
    user_session_record(user=user, session_key=request.session.session_key)
