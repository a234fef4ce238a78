"""The admins' scoring configuration pages, mounted at scoring/."""

from django.urls import path

from . import config_views as views

urlpatterns = [
    path("", views.scoring_configs, name="scoring_configs"),
    path("draft/", views.scoring_config_draft, name="scoring_config_draft"),
    path("<int:version>/", views.scoring_config_detail, name="scoring_config_detail"),
    path("<int:version>/change/", views.scoring_config_edit, name="scoring_config_edit"),
    path("<int:version>/activate/", views.scoring_config_activate, name="scoring_config_activate"),
]
