"""The Celery app of the test worker (``celery_worker_process``): the project's app, plus one
thing only tests need. Transactional tests flush the database between tests, and the content
types come back with new ids; a long-lived worker would keep the old ids in Django's
ContentType cache and write rows pointing at nothing. The worker forgets them before each task.
"""

from __future__ import annotations

from celery.signals import task_prerun

from config.celery import app

__all__ = ["app"]


@task_prerun.connect
def forget_content_types(**_kwargs) -> None:
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
