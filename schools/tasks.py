"""Celery tasks of the schools app (autodiscovered): one import line per feature."""

from schools.photo_tasks import *  # noqa
from schools.roster_tasks import *  # noqa
