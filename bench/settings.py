"""The app's settings, served with the framework-floor view added (bench/urls.py).

Everything else is the app's own: same middleware, same database settings.
"""

from safeguarding.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The bench's own queue, so its tasks never reach anyone else's worker.
CELERY_TASK_DEFAULT_QUEUE = "bench"
# Alerts raised by the sweep would otherwise print every email.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend", "OPTIONS": {}}}
# The bench's users sign in with force_login, which passes no second factor.
OTP_REQUIRED_ROLES = frozenset()
# The bench drives one token at hundreds of calls a second. The throttles stay on,
# so what they cost is measured, at rates the bench never reaches.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"user": "100000/s", "anon": "100000/s"},
}
# A kept county is reused for months; its token must outlive the 30-day default.
API_TOKEN_TTL_DAYS = 3650
