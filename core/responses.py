"""Response headers for views that carry children's data."""

from .throttling import ThrottleFirstMixin


class NoStoreMixin(ThrottleFirstMixin):
    """Responses carry children's data: never cached by browsers or proxies. (Every
    API view has this mixin, so it also brings the throttles forward.)"""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response
