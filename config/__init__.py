"""The project package: settings, URLs, the one NinjaAPI, the Celery app and WSGI."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
