"""The REST API for children, their chronology and scores (/api/v1/).

One class per operation, each with its own input and output serializers
(HackSoft style). Reads go through chronology.selectors, writes through
chronology.services, exactly as the pages do, so access and audit are decided
in one place. Reads of a child's record are audited.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency
from agencies.services import service_account_get
from core.pagination import api_paginate
from core.responses import NoStoreMixin

from . import interchange, services
from .audit import audit_record
from .imports import user_may_import
from .selectors import (
    child_get_for_user,
    children_search,
    children_visible_to,
    chronology_for_child_page,
    entry_get_for_user,
)
from .vocabulary import Category, DatePrecision, DecisionOutcome, DecisionType, EntryKind


def _date_rule(value):
    """The services' one date rule (chronology.services.date_problem), as a field
    validator, so the API names the field as for any other bad value."""
    problem = services.date_problem(day=value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class ChildOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    ref = serializers.CharField(allow_null=True)
    given_names = serializers.CharField()
    family_name = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    date_of_birth_precision = serializers.CharField()
    sex = serializers.CharField(allow_null=True)
    nhs_number = serializers.CharField(allow_null=True)
    household = serializers.CharField(source="household.name", allow_null=True, default=None)


class ChildListApi(NoStoreMixin, APIView):
    class ChildSearchInput(serializers.Serializer):
        # A CharField refuses NUL characters (400), which PostgreSQL cannot compare.
        q = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Name, date of birth or NHS number")],
        responses=ChildOutput(many=True),
    )
    def get(self, request):
        search = self.ChildSearchInput(data=request.query_params)
        search.is_valid(raise_exception=True)
        query = search.validated_data["q"]
        children = (
            children_search(user=request.user, query=query)
            if query
            else children_visible_to(user=request.user).select_related("household")
        )
        return api_paginate(
            self, request, children.order_by("family_name", "given_names", "pk"), ChildOutput
        )


class ChildDetailApi(NoStoreMixin, APIView):
    @extend_schema(responses=ChildOutput)
    @transaction.atomic
    def get(self, request, child_id):
        child = child_get_for_user(user=request.user, public_id=child_id)
        audit_record(
            actor=request.user, action="child.view", child=child, obj=child, details={"via": "api"}
        )
        return Response(ChildOutput(child).data)


class EntryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    event_date = serializers.DateField()
    date_precision = serializers.CharField()
    event_time = serializers.TimeField(allow_null=True)
    recorded_at = serializers.DateTimeField()
    agency = serializers.CharField(source="agency.code")
    author = serializers.CharField(source="author.username")
    kind = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    severity = serializers.IntegerField(allow_null=True)
    summary = serializers.CharField()
    child_words = serializers.CharField(allow_null=True)
    action = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    decision_type = serializers.CharField(allow_null=True)
    decision_outcome = serializers.CharField(allow_null=True)
    amends = serializers.SerializerMethodField()

    def get_amends(self, entry) -> str | None:
        amendment = getattr(entry, "amends", None)
        return str(amendment.entry.public_id) if amendment else None


# A client's key for a write it may send twice (IETF draft "The Idempotency-Key HTTP
# Header Field"); the answer to a repeat carries REPLAYED.
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


IDEMPOTENCY_KEY_DOC = OpenApiParameter(
    IDEMPOTENCY_KEY,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A key of your own for this entry (a UUID will do). Send the request again with "
        "the same key after a timeout or a 503, and the entry is recorded once: the "
        "repeat answers 201 with the same entry and the header Idempotent-Replayed: "
        "true. The same key with a different entry is refused (422)."
    ),
)


def _entry_record_answer(request, children, fields: dict) -> Response:
    """Record an entry (once for the request's Idempotency-Key, when it has one) and
    answer 201 with it."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        entry = services.entry_record(actor=request.user, children=children, **fields)
        recorded = True
    else:
        entry, recorded = _entry_record_once(request, key, children, fields)
    response = Response(EntryOutput(entry).data, status=status.HTTP_201_CREATED)
    if not recorded:
        response[REPLAYED] = "true"
    return response


def _entry_record_once(request, key: str, children, fields: dict):
    """services.entry_record_once, its refusals named by the header they concern."""
    try:
        return services.entry_record_once(
            actor=request.user, request_key=key, children=children, **fields
        )
    except ValidationError as error:
        if "request_key" not in error.message_dict:
            raise
        message = error.message_dict["request_key"]
        raise serializers.ValidationError({IDEMPOTENCY_KEY: message}) from None
    except services.RequestKeyReused:
        raise Unprocessable(
            {IDEMPOTENCY_KEY: ["This key has already recorded a different entry. Use a new key."]}
        ) from None


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


class EntryListApi(NoStoreMixin, APIView):
    class EntryFilterInput(serializers.Serializer):
        agency = serializers.CharField(required=False)
        kind = serializers.ChoiceField(choices=EntryKind.choices, required=False)
        category = serializers.ChoiceField(choices=Category.choices, required=False)
        severity = serializers.IntegerField(min_value=1, max_value=5, required=False)
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)
        newest_first = serializers.BooleanField(required=False, default=True)

    class EntryCreateInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=EntryKind.choices)
        event_date = serializers.DateField()
        date_precision = serializers.ChoiceField(choices=DatePrecision.choices, default="day")
        event_time = serializers.TimeField(required=False, allow_null=True)
        categories = serializers.ListField(
            child=serializers.ChoiceField(choices=Category.choices), required=False, default=list
        )
        severity = serializers.IntegerField(
            min_value=1, max_value=5, required=False, allow_null=True
        )
        summary = serializers.CharField(max_length=10000)
        child_words = serializers.CharField(required=False, allow_null=True, max_length=10000)
        action = serializers.CharField(required=False, allow_null=True, max_length=10000)
        status = serializers.CharField(required=False, allow_null=True)

        def validate_event_date(self, value):
            return _date_rule(value)

    @extend_schema(parameters=[EntryFilterInput], responses=EntryOutput(many=True))
    @transaction.atomic
    def get(self, request, child_id):
        child = child_get_for_user(user=request.user, public_id=child_id)
        filters = self.EntryFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        options = dict(filters.validated_data)
        newest_first = options.pop("newest_first")
        entries = chronology_for_child_page(child=child, filters=options, newest_first=newest_first)
        audit_record(
            actor=request.user,
            action="chronology.view",
            child=child,
            obj=child,
            details={"via": "api"},
        )
        return api_paginate(self, request, entries, EntryOutput)

    @extend_schema(
        request=EntryCreateInput, responses={201: EntryOutput}, parameters=[IDEMPOTENCY_KEY_DOC]
    )
    def post(self, request, child_id):
        child = child_get_for_user(user=request.user, public_id=child_id)
        data = self.EntryCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _entry_record_answer(request, [child], data.validated_data)


class EntryAmendApi(NoStoreMixin, APIView):
    class EntryAmendInput(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)
        event_date = serializers.DateField(required=False, validators=[_date_rule])
        date_precision = serializers.ChoiceField(choices=DatePrecision.choices, required=False)
        categories = serializers.ListField(
            child=serializers.ChoiceField(choices=Category.choices), required=False
        )
        severity = serializers.IntegerField(min_value=1, max_value=5, required=False)
        summary = serializers.CharField(required=False, max_length=10000)
        child_words = serializers.CharField(required=False, max_length=10000)
        action = serializers.CharField(required=False, max_length=10000)

    @extend_schema(request=EntryAmendInput, responses={201: EntryOutput})
    def post(self, request, entry_id):
        entry = entry_get_for_user(user=request.user, public_id=entry_id)
        data = self.EntryAmendInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        amendment = services.entry_amend(
            actor=request.user, entry=entry, reason=changes.pop("reason"), **changes
        )
        return Response(EntryOutput(amendment.replacement).data, status=status.HTTP_201_CREATED)


class DecisionCreateApi(NoStoreMixin, APIView):
    class DecisionCreateInput(serializers.Serializer):
        event_date = serializers.DateField(validators=[_date_rule])
        decision_type = serializers.ChoiceField(choices=DecisionType.choices)
        decision_outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
        agencies_present = serializers.ListField(child=serializers.CharField(), min_length=1)
        summary = serializers.CharField(max_length=10000)
        decision_notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
        categories = serializers.ListField(
            child=serializers.ChoiceField(choices=Category.choices), required=False, default=list
        )

        def validate_agencies_present(self, codes):
            agencies = list(Agency.objects.filter(code__in=codes, is_system=False))
            unknown = sorted(set(codes) - {a.code for a in agencies})
            if unknown:
                raise serializers.ValidationError(f"Unknown agency code '{unknown[0]}'.")
            return agencies

    @extend_schema(
        request=DecisionCreateInput, responses={201: EntryOutput}, parameters=[IDEMPOTENCY_KEY_DOC]
    )
    def post(self, request, child_id):
        child = child_get_for_user(user=request.user, public_id=child_id)
        data = self.DecisionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {"kind": EntryKind.DECISION, **data.validated_data}
        return _entry_record_answer(request, [child], fields)


class ImportApi(NoStoreMixin, APIView):
    """Import an interchange file (JSON or CSV) of the caller's own agency's events.

    Managers and safeguarding leads only. Every event must belong to the caller's
    agency: a school's system cannot write police entries."""

    parser_classes = [MultiPartParser]

    class ImportInput(serializers.Serializer):
        file = serializers.FileField()
        format = serializers.ChoiceField(choices=["json", "csv"], required=False)

    class ImportOutput(serializers.Serializer):
        batch = serializers.UUIDField(source="batch.public_id")
        entries = serializers.IntegerField()
        children = serializers.SerializerMethodField()

        def get_children(self, result) -> list[str]:
            return [str(child.public_id) for child in result.children.values()]

    @extend_schema(request=ImportInput, responses={201: ImportOutput})
    def post(self, request):
        if not user_may_import(request.user):
            from rest_framework.exceptions import PermissionDenied

            raise PermissionDenied("Only managers and safeguarding leads import files.")
        data = self.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        interchange.size_check(upload.size)
        file_format = data.validated_data.get("format") or (
            "csv" if upload.name.lower().endswith(".csv") else "json"
        )
        importer = interchange.import_csv if file_format == "csv" else interchange.import_document
        raw = upload.read()
        interchange.require_single_agency(raw, file_format=file_format, agency=request.user.agency)
        # No transaction around the import: it writes in one of its own, with the
        # caller's "import.request" audit rows, and a refusal's audit row must
        # outlive the rollback of everything else.
        result = importer(
            raw,
            file_name=upload.name,
            as_agency=request.user.agency,
            actor=service_account_get(purpose="import"),
            requested_by=request.user,
        )
        return Response(self.ImportOutput(result).data, status=status.HTTP_201_CREATED)
