import datetime

from django.utils import timezone

SESSION_KEY = "break_glass"


def remember_break_glass(request, access) -> None:
    """Keep the open emergency access in the session, so the banner on every page
    costs no query."""
    kept = [
        a for a in request.session.get(SESSION_KEY, []) if a["child"] != str(access.child.public_id)
    ]
    kept.append(
        {
            "child": str(access.child.public_id),
            "name": access.child.full_name,
            "expires_at": access.expires_at.isoformat(),
        }
    )
    request.session[SESSION_KEY] = kept


def break_glass(request):
    """The signed-in user's unexpired emergency accesses, for the banner."""
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return {}
    now = timezone.now()
    open_now = []
    for access in session[SESSION_KEY]:
        expires_at = datetime.datetime.fromisoformat(access["expires_at"])
        if expires_at > now:
            open_now.append({**access, "expires_at": expires_at})
    return {"break_glass_accesses": open_now}
