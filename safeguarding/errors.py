"""Error answers that Django, not DRF, makes: JSON under /api/, Django's pages elsewhere.

DRF answers the errors its views raise. These are for what happens outside them,
or that DRF leaves to Django: a URL under /api/ that matches no route, a request
Django refuses before the view (a body over its limit, a bad Host), and an error
nobody caught. A client of the API always gets JSON (issue 14)."""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        # Nothing of the error goes to the client; the server log has it.
        return JsonResponse({"detail": "A server error occurred."}, status=500)
    return defaults.server_error(request)
