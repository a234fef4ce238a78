"""Who may open a page, by role."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def role_required(*roles):
    """403 for a signed-in user whose role does not use this page."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if request.user.role not in roles:
                raise PermissionDenied("Your role does not use this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
