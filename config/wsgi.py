"""The WSGI application, warmed before it serves: URL configuration and translation
catalogues loaded for every language, the cache client imported, working-day and
name-matching tables built, so the first requests after a start are as fast as the rest
(gunicorn.conf.py preloads this module in the master, before the workers fork)."""

import os

from django.core.wsgi import get_wsgi_application

# Fail closed: a server started without DJANGO_SETTINGS_MODULE runs production settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()


def _warm() -> None:
    # Imported here, after get_wsgi_application() has loaded the apps.
    from django.conf import settings
    from django.urls import reverse
    from django.utils import translation

    from kernel import matching, workdays

    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            reverse("healthz")  # imports every view module and fills this language's URL maps
    import redis  # noqa: F401 - the cache's client, otherwise imported by the first request
    workdays.warm()
    matching.warm()


_warm()
