from django.urls import include, path

from . import access_views, import_views, views

urlpatterns = [
    path("children/", views.child_list, name="child_list"),
    path("children/search/", views.child_search, name="child_search"),
    path("concerns/new/", views.concern_create, name="concern_create"),
    path("imports/", import_views.import_start, name="import_start"),
    path("imports/<uuid:public_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<uuid:public_id>/confirm/", import_views.import_confirm, name="import_confirm"),
    path("notifications/", views.notification_inbox, name="notification_inbox"),
    path(
        "notifications/<uuid:public_id>/acknowledge/",
        views.notification_acknowledge,
        name="notification_acknowledge",
    ),
    path("children/<uuid:public_id>/chronology/", views.child_chronology, name="child_chronology"),
    path("children/<uuid:public_id>/entries/new/", views.entry_create, name="entry_create"),
    path("children/<uuid:public_id>/adults/new/", views.adult_create, name="adult_create"),
    path("children/<uuid:public_id>/adults/flag/", views.adult_flag, name="adult_flag"),
    path(
        "children/<uuid:public_id>/entries/<uuid:entry_id>/correct/",
        views.entry_correct,
        name="entry_correct",
    ),
    path("children/<uuid:public_id>/visits/new/", views.visit_create, name="visit_create"),
    path("children/<uuid:public_id>/decisions/new/", views.decision_create, name="decision_create"),
    path("children/<uuid:public_id>/export/", views.export_options, name="export_options"),
    path("children/<uuid:public_id>/export.csv", views.export_csv, name="export_csv"),
    path("children/<uuid:public_id>/export.json", views.export_json, name="export_json"),
    path("children/<uuid:public_id>/access/", access_views.child_access, name="child_access"),
    path("children/<uuid:public_id>/", include("neglect_tool.urls")),
]
