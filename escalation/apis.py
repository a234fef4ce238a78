"""The REST API for alerts: list, acknowledge and resolve (/api/v1/alerts/).

Changing an alert needs the version read, as an If-Match header (the ETag of the
alert, "v3") or a `version` field: a stale write gets 412 and changes nothing."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import api_paginate
from core.responses import NoStoreMixin

from . import services
from .models import UNRESOLVED, AlertStatus
from .selectors import alert_get_for_user, alerts_visible_to


class AlertOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    child = serializers.UUIDField(source="child.public_id")
    rule = serializers.CharField(source="rule_code")
    reason = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    ladder_level = serializers.IntegerField()
    ladder_due_at = serializers.DateTimeField(allow_null=True)
    raised_on = serializers.DateField()
    pattern_started_on = serializers.DateField()
    version = serializers.IntegerField()


def _with_etag(alert, data) -> Response:
    response = Response(data)
    response["ETag"] = f'"v{alert.version}"'
    return response


class AlertListApi(NoStoreMixin, APIView):
    class AlertFilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)

    @extend_schema(parameters=[AlertFilterInput], responses=AlertOutput(many=True))
    def get(self, request):
        filters = self.AlertFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = alerts_visible_to(user=request.user).select_related("child")
        wanted = filters.validated_data.get("status")
        alerts = alerts.filter(status=wanted) if wanted else alerts.filter(status__in=UNRESOLVED)
        return api_paginate(
            self, request, alerts.order_by("-ladder_level", "raised_at", "pk"), AlertOutput
        )


class AlertDetailApi(NoStoreMixin, APIView):
    @extend_schema(responses=AlertOutput)
    def get(self, request, alert_id):
        alert = alert_get_for_user(user=request.user, public_id=alert_id)
        return _with_etag(alert, AlertOutput(alert).data)


class _AlertChangeApi(NoStoreMixin, APIView):
    class AlertChangeInput(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)
        version = serializers.IntegerField(required=False, min_value=1)

    change = None

    def expected_version(self, request, data) -> int | None:
        match = request.headers.get("If-Match", "").strip().strip('"')
        if match.startswith("v") and match[1:].isdigit():
            return int(match[1:])
        return data.get("version")

    @extend_schema(responses=AlertOutput)
    def post(self, request, alert_id):
        alert = alert_get_for_user(user=request.user, public_id=alert_id)
        data = self.AlertChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        changed = type(self).change(
            actor=request.user,
            alert=alert,
            reason=data.validated_data["reason"],
            expected_version=self.expected_version(request, data.validated_data),
        )
        return _with_etag(changed, AlertOutput(changed).data)


class AlertAcknowledgeApi(_AlertChangeApi):
    change = staticmethod(services.alert_acknowledge)

    @extend_schema(request=_AlertChangeApi.AlertChangeInput, responses=AlertOutput)
    def post(self, request, alert_id):
        return super().post(request, alert_id)


class AlertResolveApi(_AlertChangeApi):
    change = staticmethod(services.alert_resolve)

    @extend_schema(request=_AlertChangeApi.AlertChangeInput, responses=AlertOutput)
    def post(self, request, alert_id):
        return super().post(request, alert_id)
