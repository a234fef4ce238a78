from django.urls import path

from . import audit_views

urlpatterns = [
    path("", audit_views.audit_home, name="audit_home"),
    path("children/<uuid:public_id>/", audit_views.audit_child, name="audit_child"),
    path("users/<uuid:public_id>/", audit_views.audit_user, name="audit_user"),
    path("retention/", audit_views.retention_review, name="retention_review"),
]
