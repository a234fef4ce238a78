from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from agencies import auth
from chronology import break_glass_views
from safeguarding import case_views
from safeguarding.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/two-factor/", auth.otp_verify, name="otp_verify"),
    path("login/two-factor/set-up/", auth.otp_setup, name="otp_setup"),
    path("account/", include("agencies.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("safeguarding.api_urls")),
    path("audit/", include("chronology.audit_urls")),
    path("emergency-access/", break_glass_views.break_glass, name="break_glass"),
    path("scoring/", include("neglect_tool.config_urls")),
    path("", include("escalation.urls")),
    # The pages that draw on every app (safeguarding/case_views.py).
    path("", case_views.home, name="home"),
    path("children/<uuid:public_id>/", case_views.child_detail, name="child_detail"),
    path("children/<uuid:public_id>/score/", case_views.child_score, name="child_score"),
    path("children/<uuid:public_id>/handover/", case_views.handover, name="handover"),
    path("children/<uuid:public_id>/export.pdf", case_views.export_pdf, name="export_pdf"),
    path("", include("chronology.urls")),
]

# JSON for the API, Django's pages for everything else (safeguarding/errors.py).
handler400 = "safeguarding.errors.bad_request"
handler403 = "safeguarding.errors.permission_denied"
handler404 = "safeguarding.errors.page_not_found"
handler500 = "safeguarding.errors.server_error"
