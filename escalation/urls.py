from django.urls import path

from . import views

urlpatterns = [
    path("escalation/", views.dashboard, name="escalation_dashboard"),
    path("alerts/<uuid:public_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<uuid:public_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<uuid:public_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("alerts/<uuid:public_id>/assign/", views.alert_assign, name="alert_assign"),
    path(
        "children/<uuid:public_id>/escalate/",
        views.disagreement_create,
        name="disagreement_create",
    ),
    path("rules/", views.rule_sets, name="rule_sets"),
    path("rules/draft/", views.rule_set_draft, name="rule_set_draft"),
    path("rules/<int:version>/", views.rule_set_detail, name="rule_set_detail"),
    path("rules/<int:version>/timings/", views.rule_set_settings, name="rule_set_settings"),
    path("rules/<int:version>/rules/<slug:code>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:version>/backtest/", views.rule_set_backtest, name="rule_set_backtest"),
    path("rules/<int:version>/activate/", views.rule_set_activate, name="rule_set_activate"),
    path("backtests/<uuid:public_id>/", views.backtest_detail, name="backtest_detail"),
]
