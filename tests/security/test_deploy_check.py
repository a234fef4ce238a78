"""Production settings: `check --deploy --fail-level WARNING` passes with the
environment the README documents, and fails without it."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "chronology.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://chronology.example.org",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_PRELOAD": "true",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}


PASSED_THROUGH = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_CERT", "SSL_CERT_FILE"}


def run_manage(*args: str, **overrides: str) -> subprocess.CompletedProcess:
    # Only what a process needs to run: nothing the developer's shell or another test
    # (e.g. DJANGO_ALLOW_ASYNC_UNSAFE from the browser tests) set for the app.
    environment = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
    environment.update(PRODUCTION_ENV)
    environment.update(overrides)
    environment["DJANGO_SETTINGS_MODULE"] = "safeguarding.settings"
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_without_hsts():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", SECURE_HSTS_SECONDS="0")

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_otp_required_roles_comes_from_the_environment():
    show = "from django.conf import settings; print(sorted(settings.OTP_REQUIRED_ROLES))"

    default = run_manage("shell", "-c", show)
    everyone = run_manage("shell", "-c", show, OTP_REQUIRED_ROLES="all")

    assert default.stdout.strip().splitlines()[-1] == "['admin', 'manager']"
    assert everyone.stdout.strip().splitlines()[-1] == "['all']"


def test_production_cookies_are_https_only_and_hsts_covers_subdomains():
    show = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.DEBUG)"
    )

    result = run_manage("shell", "-c", show)

    assert result.stdout.strip().splitlines()[-1] == "True True True True 31536000 True False"
