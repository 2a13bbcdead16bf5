"""The reference data every installation starts with: administrative divisions
(行政区划, ``fixtures/divisions.json``) and the national code tables (``fixtures/codes.json``).

Each is loaded only into an empty table: a deploy (compose's ``migrate``) or ``make run``
never overwrites a division or code item a province has edited since. Later changes to
the tables come through the admin or a data migration.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command

from provinces import divisions
from provinces.models import Division
from registry import codes
from registry.models import CodeItem

#: (model, fixture file under fixtures/)
REFERENCE_FIXTURES = ((Division, "divisions.json"), (CodeItem, "codes.json"))


def reference_data_load() -> list[str]:
    """Load each fixture whose table is empty; return the names of those loaded."""
    loaded = [name for model, name in REFERENCE_FIXTURES if not model.objects.exists()]
    if loaded:
        call_command("loaddata", *(str(settings.BASE_DIR / "fixtures" / name) for name in loaded), verbosity=0)
        codes.clear_cache()
        divisions.clear_cache()
    return loaded
