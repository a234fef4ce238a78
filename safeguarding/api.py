"""What every API view shares: how service errors become HTTP answers."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chronology.interchange import InterchangeError
from core.concurrency import StaleVersion

from .db_errors import DETAIL, RETRY_AFTER_SECONDS, database_unavailable, database_unavailable_log


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DETAIL
    default_code = "unavailable"


def exception_handler(exc, context):
    """Services raise Django's exceptions; the API answers them as DRF would:
    - ValidationError: 400, naming each field;
    - PermissionDenied: 403 (outsiders never get this far: selectors answer 404);
    - StaleVersion: 412, the caller's If-Match no longer holds;
    - InterchangeError: 400 with every problem in the file, each naming its place;
    - a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many fields): 400 in
      JSON, where Django would answer its HTML 400 page;
    - OperationalError or InterfaceError (the database cannot be reached): 503 with
      Retry-After, the fault logged here and nothing of it told to the client."""
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, StaleVersion):
        return Response({"detail": str(exc)}, status=status.HTTP_412_PRECONDITION_FAILED)
    elif isinstance(exc, InterchangeError):
        return Response({"file": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, RequestDataTooBig):
        exc = exceptions.ParseError(
            f"The request body is too large (over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
        )
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError("The request has too many fields.")
    elif database_unavailable(exc):
        database_unavailable_log(context["request"], exc)
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if response is not None:
        response["Cache-Control"] = "no-store"
        if isinstance(exc, DatabaseUnavailable):
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
