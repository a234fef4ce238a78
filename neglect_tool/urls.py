"""Mounted under children/<uuid:public_id>/ by chronology.urls."""

from django.urls import path

from . import views

urlpatterns = [
    path("neglect-map/", views.child_map, name="neglect_map"),
    path("household-map/", views.household_map, name="household_map"),
    path("assessments/new/", views.assessment_create, name="assessment_create"),
]
