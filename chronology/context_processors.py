from django.utils import timezone

from .models import BreakGlassAccess


def break_glass(request):
    """Open emergency accesses of the signed-in user, for the banner on every page."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    accesses = list(
        BreakGlassAccess.objects.filter(user=user, expires_at__gt=timezone.now())
        .select_related("child")
        .order_by("expires_at")
    )
    return {"break_glass_accesses": accesses}
