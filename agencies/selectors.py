"""Reads of staff accounts' own things, scoped to the user asking."""

from django.db.models import QuerySet
from django.http import Http404

from core.audit import access_refused

from .models import ApiToken, User


def api_tokens_for_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first; nobody lists anyone else's here."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def api_token_get_for_user(*, user: User, public_id) -> ApiToken:
    """One of the user's own tokens; anyone else's is a 404, like one that does not exist."""
    token = api_tokens_for_user(user=user).filter(public_id=public_id).first()
    if token is None:
        # A guess at someone else's token is a refused read like any other.
        access_refused(user=user, asked_for="api_token", public_id=public_id)
        raise Http404
    return token
