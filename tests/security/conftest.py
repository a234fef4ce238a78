"""Helpers for the security tests. Here the second factor is required as in
production (managers and admins), and people sign in through the real login page."""

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD

CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


@pytest.fixture(autouse=True)
def _second_factor_not_required(settings):
    # Overrides tests/conftest.py: the production default applies here.
    settings.OTP_REQUIRED_ROLES = frozenset({"manager", "admin"})


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Sign-ins here check many passwords; a cheap hasher keeps the tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, username, password=PASSWORD):
    """Post the login form, as a browser would."""
    return client.post(reverse("login"), {"username": username, "password": password})


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The 6-digit code the user's authenticator app would show now."""
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{value:0{device.digits}d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def without_csrf(html: str) -> str:
    return CSRF_INPUT.sub("", html)
