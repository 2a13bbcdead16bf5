"""Production (docker-compose): fails closed.

Refuses to start without ``SECRET_KEY``, ``DATABASE_URL``, ``REDIS_URL`` and
``ALLOWED_HOSTS``; never starts an embedded server; cookies are secure and HSTS is on.
TLS ends at the reverse proxy, which sets ``X-Forwarded-Proto``.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    ALLOWED_HOSTS,
    DATABASE_URL,
    REDIS_URL,
    SECRET_KEY,
    env_bool,
    env_int,
    env_str,
    logging_config,
    service_settings,
)

_missing = [
    name
    for name, value in (
        ("SECRET_KEY", SECRET_KEY),
        ("DATABASE_URL", DATABASE_URL),
        ("REDIS_URL", REDIS_URL),
        ("ALLOWED_HOSTS", ALLOWED_HOSTS),
    )
    if not value
]
if _missing:
    raise ImproperlyConfigured(f"production settings need these environment variables: {', '.join(_missing)}")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")

globals().update(service_settings(DATABASE_URL, REDIS_URL))

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
#: The reverse proxy in front (TLS ends there) appends the client's address to X-Forwarded-For:
#: login lockouts per address count that address, not the proxy's.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)

# Services' info lines (who ran a sweep, an import's size) are kept; one JSON line each.
LOGGING = logging_config(env_str("LOG_LEVEL", "INFO"), env_str("LOG_FORMAT", "json"))
#: /metrics answers only with METRICS_TOKEN set and presented as a bearer token.
METRICS_REQUIRE_TOKEN = True
