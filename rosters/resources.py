"""The roster as a django-import-export resource (the Django admin path of 花名册导入/导出).

``RosterResource`` shares every rule with the school-facing import: ``before_import`` runs
the same dry-run check over the whole dataset (``schools.roster.check_rows``: per-row
problems, in-file duplicates, IDs held elsewhere in one query per batch, likely
duplicates), then each row is reported the django-import-export way — refused rows are
``invalid`` with every reason, unchanged rows are ``skip``, new rows are written one by
one through ``schools.roster.write_rows`` under ``acting_as``. Exports give the template's
columns (``schools.roster.pupil_cells``), formula-neutralised.

This per-row path is what django-import-export does by design; large files belong on the
花名册 page or ``import_roster``, which write in bulk (see bench/roster_import.py).
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import resources

from accounts.audit import acting_as
from kernel import spreadsheets
from registry.models import ACTIVE_STATUSES, Pupil
from rosters import checking, columns, exporting, parsing, reading, writing


class RosterResource(resources.ModelResource):
    """Pupils in and out as 花名册 rows with the template's Chinese headers."""

    class Meta:
        model = Pupil
        fields = ("id",)
        use_transactions = True
        skip_diff = True
        report_skipped = True
        clean_model_instances = False

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self._checked: list[parsing.Row] = []

    # --- import -----------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user") or self.user
        if self.user is None:
            raise ValidationError("RosterResource needs the acting user (user=...)")
        lines = [[spreadsheets.cell_text(v) for v in dataset.headers or []]]
        lines += [[spreadsheets.cell_text(v) for v in row] for row in dataset]
        table = reading.parse_table(lines)
        # Blank lines are dropped by parse_table; keep the dataset's numbering for lookups.
        by_number = {number: i for i, (number, _cells) in enumerate(table.lines)}
        checked = checking.check_rows(user=self.user, table=table)
        self._checked = [None] * len(dataset)
        for number, index in by_number.items():
            self._checked[number - 2] = checked[index]

    def _row(self, kwargs) -> parsing.Row | None:
        index = kwargs.get("row_number", 0) - 1
        return self._checked[index] if 0 <= index < len(self._checked) else None

    def get_or_init_instance(self, instance_loader, row):
        return Pupil(), True

    def import_instance(self, instance, row, **kwargs):
        checked = self._row(kwargs)
        if checked is None:
            return
        if checked.data is not None:
            instance.name = checked.data.name
            instance.id_number = checked.data.id_number
        if checked.outcome == columns.REFUSED:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        f"第{checked.number}行 {p['column']}：{p['message']} [{p['code']}]".replace(" ：", "：")
                        for p in checked.problems
                    ]
                }
            )

    def import_row(self, row, instance_loader, **kwargs):
        self._current = self._row(kwargs)
        return super().import_row(row, instance_loader, **kwargs)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """Unchanged rows (the same national record, every column equal) are skipped."""
        current = getattr(self, "_current", None)
        return current is not None and current.outcome == columns.UNCHANGED and not import_validation_errors

    def save_instance(self, instance, is_create, row, **kwargs):
        checked = self._row(kwargs)
        if checked is None or checked.outcome != columns.NEW:
            return
        if kwargs.get("dry_run"):
            return
        with acting_as(self.user, via="admin_import"):
            writing.write_rows(user=self.user, rows=[checked])
        instance.pk = Pupil.objects.only("pk").get(national_number=checked.national_number).pk
        instance.national_number = checked.national_number

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    # --- export -----------------------------------------------------------------------

    def get_export_headers(self, selected_fields=None):
        return [*columns.HEADERS, *exporting.EXPORT_HEADERS]

    def export_resource(self, instance, selected_fields=None, **kwargs):
        return exporting.pupil_cells(instance)

    def filter_export(self, queryset, **kwargs):
        return queryset.filter(status__in=ACTIVE_STATUSES).select_related("school", "school_class") \
            .prefetch_related("guardians").order_by("school__code", "grade", "school_class__number", "name", "id")
