from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("children/", views.child_list, name="child_list"),
    path("children/<uuid:public_id>/", views.child_detail, name="child_detail"),
]
