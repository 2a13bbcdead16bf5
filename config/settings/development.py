"""Development and tests: ``make run``, ``make test`` and ``manage.py`` on a workstation.

With ``DATABASE_URL`` / ``REDIS_URL`` unset, an embedded PostgreSQL and Redis under ``var/``
are started on first use (``devtools.embedded``): nothing to install. The dev tooling app
(``devtools``: embedded servers, ``make run``'s launcher, the demo data) is installed here
and nowhere else.
"""

from __future__ import annotations

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    DATABASE_URL,
    INSTALLED_APPS,
    REDIS_URL,
    SECRET_KEY,
    STORAGES,
    VAR_DIR,
    env_bool,
    env_str,
    service_settings,
)

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "insecure-development-key"
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

if not DATABASE_URL or not REDIS_URL:
    # Only now: the embedded servers' wheels are development dependencies.
    from devtools import embedded

    DATABASE_URL = DATABASE_URL or embedded.postgres_url(VAR_DIR)
    REDIS_URL = REDIS_URL or embedded.redis_url(VAR_DIR)
globals().update(service_settings(DATABASE_URL, REDIS_URL))

#: The demo accounts keep the demo password here (``DEMO_PASSWORD``, base settings); outside
#: development a login with it must change it first.
FORCE_DEMO_PASSWORD_CHANGE = env_bool("FORCE_DEMO_PASSWORD_CHANGE", False)
