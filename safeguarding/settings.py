"""One settings module for every environment.

Production differs from development only by environment variables. With none
set, the app connects to the embedded PostgreSQL that `make run` starts
(safeguarding/embedded_pg.py) and uses a file-system Celery broker, so `make run`
needs no server installed. Tests and production set DATABASE_URL and REDIS_URL.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.utils.csp import CSP

from safeguarding import embedded_pg

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """Read a setting from NAME, or from the file named by NAME_FILE (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    return env(name, default).lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: str) -> int:
    return int(env(name, default))


def database_from_url(url: str) -> dict:
    """Turn postgres://user:pass@host:port/name into a DATABASES entry.

    A Unix socket is given as libpq does: an empty host and ?host=/its/folder."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parse_qs(parts.query).get("host", [parts.hostname or ""])[0],
        "PORT": str(parts.port or ""),
        # Connections are kept between requests; each is checked before its first use
        # in a request and replaced if it died (a PostgreSQL restart), so the service
        # recovers without being restarted itself.
        "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", "60"),
        "CONN_HEALTH_CHECKS": True,
        # An unreachable server fails the request with a 503 in seconds, well inside
        # gunicorn's worker timeout, instead of hanging it (safeguarding.db_errors).
        "OPTIONS": {"connect_timeout": envint("DB_CONNECT_TIMEOUT", "5")},
    }


DEBUG = envbool("DEBUG", "false")
SECRET_KEY = env("SECRET_KEY") or ("insecure-development-key" if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("Set SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=true for development.")
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    # Append-only tables' triggers are declared on the models (docs/database-roles.md).
    "pgtrigger",
    # Before the apps that follow: its `migrate` runs as the owner role.
    "safeguarding",
    "core",
    "agencies",
    "chronology",
    "neglect_tool",
    "escalation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "safeguarding.middleware.RequestIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that touches the database: a lost connection is a clean 503.
    "safeguarding.db_errors.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # One access.denied audit row for a read the access rule refused with a 404.
    "safeguarding.middleware.AccessRefusalAuditMiddleware",
    # Marks request.user verified when this session passed its second factor.
    "django_otp.middleware.OTPMiddleware",
    # Idle and absolute session limits, then the second-factor gate (safeguarding/security.py).
    "safeguarding.security.SessionLimitsMiddleware",
    "safeguarding.security.OTPRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "safeguarding.security.NoStoreMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "safeguarding.urls"
WSGI_APPLICATION = "safeguarding.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chronology.context_processors.break_glass",
            ],
        },
    },
]

# Unset, the embedded server of `make run` (var/postgres), found by its socket.
DATABASE_URL = env("DATABASE_URL") or embedded_pg.urls()["DATABASE_URL"]
DATABASES = {"default": database_from_url(DATABASE_URL)}
# Two PostgreSQL roles (docs/database-roles.md): the app connects with DATABASE_URL as
# a role that owns nothing; `manage.py migrate` connects as the owner of the tables.
# Unset beside a DATABASE_URL, the owner is the app's own role: one role, which a
# system check reports.
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL") or (
    DATABASE_URL if env("DATABASE_URL") else embedded_pg.urls()["DATABASE_OWNER_URL"]
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "agencies.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Answers has_perm("chronology.view_child", child) from the access rule, named
    # grants (guardian's ChildAccessGrant) included. guardian's own backend is left
    # out on purpose: it would read the grant rows without their dates.
    "chronology.backends.InvolvementBackend",
]
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]  # its backend left out: see above
# Our users must belong to an agency, so guardian's anonymous user cannot be created.
ANONYMOUS_USER_NAME = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# Event dates are local (a school day in England); stored times are UTC.
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# GOV.UK Frontend is installed by npm and served from our own origin: no CDN.
GOVUK_FRONTEND_DIR = BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"
if GOVUK_FRONTEND_DIR.is_dir():
    STATICFILES_DIRS.append(("govuk", GOVUK_FRONTEND_DIR))

# Serve straight from the source folders when static files have not been collected.
WHITENOISE_USE_FINDERS = DEBUG

REDIS_URL = env("REDIS_URL")
# The cache holds the API's call counts (core/throttling.py). With Redis,
# every web process shares them; without (make run, one process), each keeps its own.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chronology",
            # A Redis that hangs must not hang the API: the throttle lets calls through.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    # kombu's file-system transport: a broker with no server, for `make run`.
    BROKER_DIR = Path(env("BROKER_DIR", str(BASE_DIR / "var" / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Without this, kombu writes its control folder into the working directory.
        "control_folder": str(BROKER_DIR / "control"),
    }
    # Every process that publishes (the web, manage.py load_demo) needs the folders,
    # not only the worker; making them here means none can find them missing.
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
# Publishing must not hang a request when the broker is down: the outbox mark
# (escalation.ChildWatch.due_since) is the safety net, swept below.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
# Each web process keeps its broker connections and producers in a pool and reuses
# them for every publish (every recorded entry queues an evaluation after its
# commit); a publish never opens a connection of its own. 0 would mean a new
# connection per publish.
CELERY_BROKER_POOL_LIMIT = envint("CELERY_BROKER_POOL_LIMIT", "10")
# Schedules live in code. Run exactly one beat (docker-compose has one service).
# Worker processes a county-wide sweep spreads over (escalation.tasks.evaluations_sweep):
# the workers' concurrency, which is the number of cores unless set.
SWEEP_WORKERS = envint("SWEEP_WORKERS", str(os.cpu_count() or 1))
# The back-test's control corpus (escalation.controls): how many ordinary families
# it replays to count false alarms, and how long a running back-test may go
# without a sign of life before the sweep takes it over (escalation.backtest).
BACKTEST_CONTROL_FAMILIES = envint("BACKTEST_CONTROL_FAMILIES", "40")
BACKTEST_LEASE_SECONDS = envint("BACKTEST_LEASE_SECONDS", "300")

CELERY_BEAT_SCHEDULE = {
    "evaluations-sweep": {"task": "escalation.tasks.evaluations_sweep", "schedule": 60.0},
    "ladder-tick": {"task": "escalation.tasks.ladder_tick", "schedule": 300.0},
    "backtests-sweep": {"task": "escalation.tasks.backtests_sweep", "schedule": 60.0},
    # Browser imports whose queue message was lost (chronology.imports).
    "imports-sweep": {"task": "chronology.tasks.import_jobs_sweep", "schedule": 60.0},
}

# The sweep (every minute) and the ladder tick (every 5 minutes) record when they
# last ran (escalation.Heartbeat). Older than this many seconds, /healthz answers 503
# and the escalation dashboard warns managers: beat or the worker has stopped.
HEARTBEAT_MAX_AGE = envint("HEARTBEAT_MAX_AGE", "600")

# Django 6.1's MAILERS. Development prints mail to the console; production sets
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the host.
EMAIL_BACKEND_PATH = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
MAILERS = {
    "default": {
        "BACKEND": EMAIL_BACKEND_PATH,
        "OPTIONS": (
            {"host": env("EMAIL_HOST", "localhost"), "port": envint("EMAIL_PORT", "25")}
            if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "chronology@localhost")

# API tokens (agencies.ApiToken) stop working this many days after they are made.
API_TOKEN_TTL_DAYS = envint("API_TOKEN_TTL_DAYS", "30")

# Imports larger than this are refused before they are parsed.
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", str(20 * 1024 * 1024))
# An import commits this many entries at a time (chronology.interchange, docs/bulk-import.md):
# one transaction, one audit row and one evaluation of each child per batch.
IMPORT_BATCH_SIZE = envint("IMPORT_BATCH_SIZE", "1000")

# Security (README "Security"). Production turns on HTTPS-only behaviour with the
# environment: SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS and friends.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "false" if DEBUG else "true")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
if envbool("SECURE_PROXY_SSL_HEADER", "false"):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Django's own Content Security Policy: our origin only, no inline script or style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Sessions: 30 minutes idle, 12 hours at most (safeguarding.security.SessionLimitsMiddleware).
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", str(30 * 60))
SESSION_ABSOLUTE_TIMEOUT = envint("SESSION_ABSOLUTE_TIMEOUT", str(12 * 60 * 60))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Second factor (TOTP, django-otp): the roles that must use it, or "all".
OTP_REQUIRED_ROLES = frozenset(
    r.strip() for r in env("OTP_REQUIRED_ROLES", "manager,admin").split(",") if r.strip()
)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Safeguarding chronology")

# Lockout (django-axes): 5 failures for one username from one address within 15
# minutes lock that username at that address for 15 minutes; unknown usernames lock
# the same way. Not by username alone, so that nobody elsewhere can lock a social
# worker out of the record on purpose (docs/security.md has the trade-off).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

REST_FRAMEWORK = {
    # Tokens for other systems (a school's MIS, the police feed); sessions for the browser.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # "Authorization: Token <key>", looked up by the key's digest (agencies.ApiToken).
        "agencies.authentication.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "safeguarding.api.exception_handler",
    # DRF's parsers, with JSON limited in depth (a deep body was a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "safeguarding.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
    # Per user or token, and per address for calls without valid credentials
    # (core/throttling.py); over the rate, 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.ApiUserThrottle",
        "core.throttling.ApiAnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # 10 calls a second, a minute long: far above a person and above a system
        # syncing one record at a time; bulk loads go through imports/.
        "user": env("API_THROTTLE_USER_RATE", "600/min"),
        # Without valid credentials every call is refused anyway; this slows guessing.
        "anon": env("API_THROTTLE_ANON_RATE", "60/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Safeguarding chronology API",
    "DESCRIPTION": (
        "Children, their shared chronology, decisions, alerts and neglect scores. Every "
        "read is scoped to the caller's agency involvements; another agency's child is a 404."
    ),
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's files come from a Python package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
