"""Settings shared by development and production, all from the environment.

``config.settings.development`` (``make run``, ``make test``, ``manage.py``) starts the
embedded PostgreSQL and Redis when ``DATABASE_URL`` / ``REDIS_URL`` are unset;
``config.settings.production`` (docker-compose) refuses to start without them. Both call
``service_settings`` once they know the two URLs.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


VAR_DIR = Path(env_str("REGISTRY_VAR_DIR", str(BASE_DIR / "var")))
DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS").split(",") if o]
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")


def service_settings(database_url: str, redis_url: str) -> dict:
    """The settings that follow from the database and broker URLs."""
    databases = {"default": dj_database_url.parse(database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    databases["default"].setdefault("TEST", {})["NAME"] = env_str("TEST_DATABASE_NAME", "test_registry")
    if env_str("DATABASE_REPLICA_URL"):
        # A read replica for exports and statistics (kernel.replica); tests mirror default.
        databases["replica"] = dj_database_url.parse(env_str("DATABASE_REPLICA_URL"), conn_max_age=60)
        databases["replica"]["TEST"] = {"MIRROR": "default"}
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATABASES": databases,
        # Shared by every web and Celery process: province settings (provinces.cache). Celery
        # spells the embedded server's Unix socket redis+socket://PATH, redis-py unix://PATH.
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url.replace("redis+socket://", "unix://", 1),
                "KEY_PREFIX": "registry",
            }
        },
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
    }


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The apps, from the bottom layer up (docs/architecture.md).
    "provinces",
    "schools",
    "accounts",
    "registry",
    "workflow",
    "exchange",
    "duplicates",
    "enrolment",
    "photos",
    "rosters",
    "transfers",
    "changes",
    "administration",
    "portal",
    "reports",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.observability.RequestIdMiddleware",
    "config.middleware.DisclosureRecordsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.InputGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.audit.AuditContextMiddleware",
    "accounts.middleware.AccountGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseInputErrorMiddleware",
    # Last but the metrics, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

DATABASE_ROUTERS = ["kernel.replica.ReplicaRouter"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.nav.navigation",
            ]
        },
    }
]

# The password policy (accounts.passwords): length, not common, not like the username, not
# all digits, not the demo password, not one of the last PASSWORD_HISTORY_SIZE passwords.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.NotDemoPasswordValidator"},
    {"NAME": "accounts.passwords.NotReusedValidator"},
]
PASSWORD_HISTORY_SIZE = env_int("PASSWORD_HISTORY_SIZE", 5)
#: The demo accounts' shared password (``load_demo``). Outside development a login with it is
#: sent to change the password first (FORCE_DEMO_PASSWORD_CHANGE).
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "xueji-demo-2026")
FORCE_DEMO_PASSWORD_CHANGE = env_bool("FORCE_DEMO_PASSWORD_CHANGE", True)
# Login protection (django-axes): after AXES_FAILURE_LIMIT wrong passwords a username is
# locked, and so is an address (each on its own); the level above unlocks an account on its
# page (docs/accounts.md), or the lock lifts after AXES_COOLOFF_HOURS.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_HOURS", 24) or None
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.login.client_address"
#: Reverse proxies in front of the web server (each appends to X-Forwarded-For); 0 = none.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# 动态口令 (TOTP, django-otp): a user with a confirmed device enters its code at each login;
# with PROVINCE_ADMIN_TOTP on, a province admin must bind one first (accounts.otp).
PROVINCE_ADMIN_TOTP = env_bool("PROVINCE_ADMIN_TOTP", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "K12 学籍")

# Sessions end after a working day without a request, and when the browser closes. A request
# extends the session at most once every SESSION_REFRESH_SECONDS (accounts.middleware), so a
# read does not write the session row each time.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 5 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

#: Days an API token is valid when its issuer names no other expiry (at most API_TOKEN_MAX_DAYS).
API_TOKEN_DEFAULT_DAYS = env_int("API_TOKEN_DEFAULT_DAYS", 90)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 366)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
if not STATIC_ROOT.is_dir():
    # Before `collectstatic` (make run, tests) whitenoise serves from the app folders, and
    # its warning about the missing STATIC_ROOT says nothing new.
    WHITENOISE_USE_FINDERS = True
    warnings.filterwarnings("ignore", message=f"No directory at: {STATIC_ROOT}", category=UserWarning)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (photos, proof material) live outside the web root and are served by views that
# check scope; MEDIA_URL is never routed.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if env_str("S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET"),
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
#: Largest upload accepted by any form (a whole school's photo ZIP).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 500 * 1024 * 1024)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PROVINCE_SETTINGS_CACHE_SECONDS = env_int("PROVINCE_SETTINGS_CACHE_SECONDS", 60)

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "registry")
CELERY_TIMEZONE = TIME_ZONE
if env_bool("CELERY_SPLIT_QUEUES"):
    # docker-compose.scale.yml: sweeps and file work on their own workers.
    CELERY_TASK_ROUTES = {
        "workflow.tasks.deadlines_sweep": {"queue": "sweeps"},
        "changes.tasks.suspensions_overdue_sweep": {"queue": "sweeps"},
        "enrolment.tasks.unreceived_graduates": {"queue": "sweeps"},
        "duplicates.tasks.*": {"queue": "sweeps"},
        "photos.*": {"queue": "files"},
        "schools.roster_*": {"queue": "files"},
        "portal.audit_export": {"queue": "files"},
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "registry@localhost")


# Every line carries the request id (config.observability); LOG_FORMAT=json writes one JSON
# object per line (production's default). Production logs at INFO, development at WARNING.
LOG_FORMAT = env_str("LOG_FORMAT", "text")


def logging_config(level: str, log_format: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.observability.RequestIdFilter"}},
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "config.observability.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": log_format},
        },
        "root": {"handlers": ["console"], "level": level},
    }


LOGGING = logging_config(env_str("LOG_LEVEL", "WARNING"), LOG_FORMAT)

# Health (config.views.readyz) and metrics (config.observability.metrics).
READY_WORKER_TIMEOUT = float(env_str("READY_WORKER_TIMEOUT", "1.0"))
READY_BEAT_MAX_AGE = env_int("READY_BEAT_MAX_AGE", 300)
READY_MEDIA_MIN_FREE_BYTES = env_int("READY_MEDIA_MIN_FREE_BYTES", 2 * 1024**3)
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_REQUIRE_TOKEN = False

# Audit: every insert, update and delete of a tracked model, with the request's context.
import pghistory  # noqa: E402

PGHISTORY_DEFAULT_TRACKERS = (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
# Audit rows are kept (five years at least): every event table gets pghistory's append_only
# trigger (pgtrigger.Protect), which refuses UPDATE and DELETE; only ``archive_audit`` moves
# old events out, after writing them to a checked file (docs/operations.md).
PGHISTORY_APPEND_ONLY = True
#: Months of audit events kept in the tables; older ones may be archived (accounts.audit_archive).
AUDIT_HOT_MONTHS = env_int("AUDIT_HOT_MONTHS", 24)
AUDIT_ARCHIVE_DIR = Path(env_str("AUDIT_ARCHIVE_DIR", str(VAR_DIR / "audit-archive")))

# The exchange with other provinces' registries (exchange, docs/exchange.md): the province
# codes this registry serves (the first signs), its Ed25519 key, delivery and question limits.
EXCHANGE_PROVINCES = [code for code in env_str("EXCHANGE_PROVINCES", "44").split(",") if code]
EXCHANGE_PRIVATE_KEY = env_str("EXCHANGE_PRIVATE_KEY")
EXCHANGE_PRIVATE_KEY_FILE = env_str("EXCHANGE_PRIVATE_KEY_FILE")
EXCHANGE_MAX_ATTEMPTS = env_int("EXCHANGE_MAX_ATTEMPTS", 12)
EXCHANGE_BACKOFF_SECONDS = float(env_str("EXCHANGE_BACKOFF_SECONDS", "2"))
EXCHANGE_BACKOFF_MAX_SECONDS = float(env_str("EXCHANGE_BACKOFF_MAX_SECONDS", "900"))
EXCHANGE_DELIVERY_TIMEOUT = float(env_str("EXCHANGE_DELIVERY_TIMEOUT", "10"))
#: A question to a peer (an ID number held there?) waits at most this long: entry goes on.
EXCHANGE_QUERY_TIMEOUT = float(env_str("EXCHANGE_QUERY_TIMEOUT", "2"))
