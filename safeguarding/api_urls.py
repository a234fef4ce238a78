from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chronology import apis as chronology
from escalation import apis as escalation
from neglect_tool import apis as neglect_tool

v1 = [
    path("children/", chronology.ChildListApi.as_view(), name="api_child_list"),
    path("children/<uuid:child_id>/", chronology.ChildDetailApi.as_view(), name="api_child_detail"),
    path(
        "children/<uuid:child_id>/entries/",
        chronology.EntryListApi.as_view(),
        name="api_entry_list",
    ),
    path(
        "children/<uuid:child_id>/decisions/",
        chronology.DecisionCreateApi.as_view(),
        name="api_decision_create",
    ),
    path(
        "children/<uuid:child_id>/score/",
        neglect_tool.ChildScoreApi.as_view(),
        name="api_child_score",
    ),
    path(
        "entries/<uuid:entry_id>/amend/", chronology.EntryAmendApi.as_view(), name="api_entry_amend"
    ),
    path("imports/", chronology.ImportApi.as_view(), name="api_import"),
    path("alerts/", escalation.AlertListApi.as_view(), name="api_alert_list"),
    path("alerts/<uuid:alert_id>/", escalation.AlertDetailApi.as_view(), name="api_alert_detail"),
    path(
        "alerts/<uuid:alert_id>/acknowledge/",
        escalation.AlertAcknowledgeApi.as_view(),
        name="api_alert_acknowledge",
    ),
    path(
        "alerts/<uuid:alert_id>/resolve/",
        escalation.AlertResolveApi.as_view(),
        name="api_alert_resolve",
    ),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view serves Swagger UI's script as a file: the CSP refuses inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in v1],
]
