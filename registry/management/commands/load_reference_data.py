"""``manage.py load_reference_data``: divisions and code tables, into empty tables only."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from registry.reference import REFERENCE_FIXTURES, reference_data_load


class Command(BaseCommand):
    help = "Load fixtures/divisions.json and fixtures/codes.json into their tables when those are empty."

    def handle(self, *args, **options):
        loaded = reference_data_load()
        for _model, name in REFERENCE_FIXTURES:
            if name in loaded:
                self.stdout.write(_("已载入 %(name)s") % {"name": name})
            else:
                self.stdout.write(_("%(name)s 对应的表已有数据，保留现有内容不覆盖") % {"name": name})
