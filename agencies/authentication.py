"""How other systems (a school's MIS, the police feed) authenticate to the API."""

import datetime

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken
from .tokens import api_token_digest

# last_used_at is written at most this often per token, so that a busy integration
# does not cost an UPDATE on every call; the page shows it to the minute.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`: the key is hashed and its digest looked up, with
    the token's user and the user's agency in the same query (every API call asks for
    the agency). A revoked or expired token, or an inactive user, is refused with the
    same answer as an unknown key. The token is checked on every request, so revoking
    it, or deactivating its user, takes effect at once."""

    model = ApiToken

    def authenticate_credentials(self, key):
        token = (
            ApiToken.objects.select_related("user__agency")
            .filter(digest=api_token_digest(key))
            .first()
        )
        now = timezone.now()
        if token is None or not token.is_usable(at=now) or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return (token.user, token)
