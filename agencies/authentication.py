"""How other systems (a school's MIS, the police feed) authenticate to the API."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class StaffTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, loading the token, its user and the user's agency
    in one query. Every API call asks for the agency (who may see which child, which
    agency an entry is recorded for, the audit row), so DRF's own lookup, which stops
    at the user, cost a second query on every request. The token is still looked up
    on every request: ending it, or deactivating its user, takes effect at once."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user__agency").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
