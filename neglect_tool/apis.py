"""The REST API for a child's neglect score (/api/v1/children/<id>/score/), in the
style of chronology.apis: the child is fetched through the access rule, the read
is audited."""

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chronology.apis import _date_rule
from chronology.audit import audit_record
from chronology.selectors import child_get_for_user
from core.responses import NoStoreMixin

from .selectors import child_score


class ContributionOutput(serializers.Serializer):
    entry = serializers.CharField(source="entry_id")
    event_date = serializers.DateField()
    agency = serializers.CharField()
    kind = serializers.CharField()
    category = serializers.CharField()
    domain = serializers.CharField()
    value = serializers.DecimalField(max_digits=9, decimal_places=3)
    reason = serializers.CharField()


class ScoreOutput(serializers.Serializer):
    as_of = serializers.DateField()
    config_version = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=9, decimal_places=3)
    level = serializers.IntegerField()
    level_name = serializers.CharField()
    by_domain = serializers.DictField(
        child=serializers.DecimalField(max_digits=9, decimal_places=3)
    )
    contributions = ContributionOutput(many=True)


class ChildScoreApi(NoStoreMixin, APIView):
    class ScoreQueryInput(serializers.Serializer):
        # The records' date rule: a score before 1900 is meaningless, and one of year 1
        # would look back past the calendar's start.
        as_of = serializers.DateField(required=False, validators=[_date_rule])

    @extend_schema(parameters=[ScoreQueryInput], responses=ScoreOutput)
    @transaction.atomic
    def get(self, request, child_id):
        child = child_get_for_user(user=request.user, public_id=child_id)
        data = self.ScoreQueryInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        as_of = data.validated_data.get("as_of") or timezone.localdate()
        score = child_score(child, as_of)
        audit_record(
            actor=request.user,
            action="score.view",
            child=child,
            obj=child,
            details={"as_of": str(as_of)},
        )
        return Response(ScoreOutput(score).data)
