"""Sign-in and the second factor (TOTP with django-otp).

After the password, a user whose role needs a second factor (settings.OTP_REQUIRED_ROLES)
is sent to `otp_verify`; without a confirmed device they enrol first at `otp_setup`.
Until then safeguarding.security.OTPRequiredMiddleware keeps them on these pages.
"""

import base64
import re

import django_otp
import segno
from django.conf import settings
from django.contrib.auth import user_logged_in, user_logged_out
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .sessions import otp_required_for, session_start

CODE_PATTERN = re.compile(r"^\d{6}$")
CODE_ERROR = "Enter the 6-digit code shown in your authenticator app."


def on_user_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        session_start(request, user)


def on_user_logged_out(sender, request, user, **kwargs):
    if request is not None and getattr(request, "session", None) is not None:
        key = request.session.session_key
        if key:
            services.user_session_forget(session_key=key)


def connect_signals() -> None:
    user_logged_in.connect(on_user_logged_in, dispatch_uid="agencies.auth.logged_in")
    user_logged_out.connect(on_user_logged_out, dispatch_uid="agencies.auth.logged_out")


def _next_url(request, default: str = "") -> str:
    """The `next` parameter if it is a safe local URL, else `default` (the home page)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default or reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + "?" + urlencode({"next": next_url})


class SignInView(LoginView):
    """Django's sign-in page; then, for a role that needs it, the second factor."""

    def form_valid(self, form):
        response = super().form_valid(form)
        if otp_required_for(form.get_user()):
            return redirect(_with_next("otp_verify", self.get_success_url()))
        return response


def _clean_code(request) -> str:
    return re.sub(r"\s", "", request.POST.get("code", ""))


@never_cache
@sensitive_post_parameters("code")
@login_required
def otp_verify(request):
    """Ask for a code from the user's confirmed device."""
    next_url = _next_url(request)
    if request.user.is_verified():
        return redirect(next_url)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).order_by("id").first()
    if device is None:
        return redirect(_with_next("otp_setup", next_url))
    error = ""
    if request.method == "POST":
        code = _clean_code(request)
        if CODE_PATTERN.match(code) and device.verify_token(code):
            django_otp.login(request, device)
            return redirect(next_url)
        error = CODE_ERROR
    return render(
        request,
        "registration/otp_verify.html",
        {"error": error, "next": next_url},
        status=200,
    )


@never_cache
@sensitive_post_parameters("code")
@login_required
def otp_setup(request):
    """Enrol an authenticator app: show its secret, then confirm it with a code.

    A user who already has a confirmed device cannot enrol another here (someone who
    knows only the password must not be able to add their own phone); an administrator
    removes a lost device in the admin, and the user enrols again at next sign-in.
    """
    next_url = _next_url(request)
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect(_with_next("otp_verify", next_url))
    device = services.totp_device_for_enrolment(user=request.user)
    error = ""
    if request.method == "POST":
        code = _clean_code(request)
        if CODE_PATTERN.match(code) and device.verify_token(code):
            services.totp_device_confirm(user=request.user, device=device)
            django_otp.login(request, device)
            return redirect(next_url)
        error = CODE_ERROR
    secret = base64.b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "registration/otp_setup.html",
        {
            "error": error,
            "next": next_url,
            "secret": secret,
            # Groups of four, easier to type by hand.
            "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "otpauth_uri": device.config_url,
            # An SVG image in a data: URI (allowed by img-src): nothing inline to trust.
            "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=4, border=4),
        },
    )
