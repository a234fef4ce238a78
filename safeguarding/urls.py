from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from agencies import auth
from chronology import break_glass_views
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
    path("", include("chronology.urls")),
]

# JSON for the API, Django's pages for everything else (safeguarding/errors.py).
handler400 = "safeguarding.errors.bad_request"
handler403 = "safeguarding.errors.permission_denied"
handler404 = "safeguarding.errors.page_not_found"
handler500 = "safeguarding.errors.server_error"
