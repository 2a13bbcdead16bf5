"""Celery tasks of the schools app (autodiscovered): one import line per feature."""

from photos.tasks import *  # noqa
from schools.roster_tasks import *  # noqa
