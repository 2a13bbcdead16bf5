"""The dry run (预检): every row gets one outcome (new, unchanged, refused with every reason),
checked against the file and the registry in batches of a few queries, and — when peer
registries are configured (跨省查重, ``exchange``) — against them, one question per batch."""


from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from accounts.permissions import school_for_write
from duplicates import entry
from enrolment.checks import (
    check_against_registry,
    guardian_ids,
    id_held_elsewhere_error,
    id_held_in_other_province_error,
    peers_holding_many,
)
from enrolment.review import source_problems
from exchange.services import peers_active
from kernel.errors import ValidationFailed
from registry import codes
from registry.fields import GUARDIAN_FIELD_BY_NAME, MAX_MEMBERS, MEMBER_FIELDS, PUPIL_FIELDS, stored
from registry.models import Guardian, Pupil
from registry.records import GuardianData, PupilData, record_from_json
from registry.validation import pupil_problems
from rosters.columns import BATCH_SIZE, COLUMN_BY_KEY, NEW, REFUSED, UNCHANGED, column_of, member_key
from rosters.parsing import Divisions, Row, row_to_record
from rosters.reading import Table
from schools.models import School

logger = logging.getLogger("rosters")


# --- the check (dry run) ----------------------------------------------------------------

class _Schools:
    """School of a row by its code, decided once per code by ``school_for_write``."""

    def __init__(self, user) -> None:
        self.user = user
        self.cache: dict[str, School | ValidationFailed] = {}

    def get(self, code: str) -> School | ValidationFailed:
        if code not in self.cache:
            try:
                self.cache[code] = school_for_write(user=self.user, school_code=code)
            except ValidationFailed as exc:
                self.cache[code] = exc
        return self.cache[code]


def differences(pupil: Pupil, data: PupilData, present: set[str] | None = None) -> list[str]:
    """Columns where an existing pupil differs from a row (empty: the row is unchanged).

    Only the columns ``present`` in the file count: a file without a family member's columns
    (an older template, two members) says nothing of that member."""
    pairs = [
        ("name", pupil.name, data.name),
        ("former_name", pupil.former_name, data.former_name),
        ("sex", pupil.sex, data.sex),
        ("birth_date", pupil.birth_date, data.birth_date),
        ("id_type", pupil.id_type, data.id_type),
        ("id_number", pupil.id_number, data.id_number),
        ("ethnicity", pupil.ethnicity, data.ethnicity),
        ("nationality", pupil.nationality, data.nationality),
        ("hmt", pupil.hmt, data.hmt),
        ("hukou_division", pupil.hukou_division_id or "", data.hukou_division_code or ""),
        ("hukou_nature", pupil.hukou_nature, data.hukou_nature),
        ("grade", pupil.grade, data.grade),
        ("class_number", pupil.school_class.number if pupil.school_class_id else None, data.class_number),
        ("enrolled_on", pupil.enrolled_on, data.enrolled_on),
        ("boarding", pupil.boarding, data.boarding),
        ("health", pupil.health, data.health),
        ("left_behind", pupil.left_behind, data.left_behind),
        ("migrant", pupil.migrant, data.migrant),
        *((f.name, getattr(pupil, f.name), stored(f, getattr(data, f.name))) for f in PUPIL_FIELDS),
    ]
    existing = sorted(pupil.guardians.all(), key=lambda g: g.order)[:MAX_MEMBERS]
    for n in range(1, MAX_MEMBERS + 1):
        old = existing[n - 1] if len(existing) >= n else None
        new = data.guardians[n - 1] if len(data.guardians) >= n else None
        for name in MEMBER_FIELDS:
            pairs.append((member_key(n, name), _member_value(old, name), _member_value(new, name)))
    return [COLUMN_BY_KEY[key].header for key, old, new in pairs
            if old != new and (present is None or key in present)]


def _member_value(member: Guardian | GuardianData | None, name: str):
    """A family member's field as compared: the stored value of a record's member and of a
    checked row's alike (``None`` for no member)."""
    if member is None:
        return None
    if name == "hukou_division_code":
        return (member.hukou_division_id if isinstance(member, Guardian) else member.hukou_division_code) or ""
    if name in GUARDIAN_FIELD_BY_NAME:
        return stored(GUARDIAN_FIELD_BY_NAME[name], getattr(member, name))
    return getattr(member, name)


def _differs_error(pupil: Pupil, columns: list[str]) -> ValidationFailed:
    return ValidationFailed(
        _("本校已有该学生的学籍（全国学籍号 %(number)s），但以下列与本行不同：%(columns)s。"
          "花名册导入不修改已有学籍，关键信息请通过变更申请修改")
        % {"number": pupil.national_number, "columns": "、".join(columns)},
        code="differs_from_existing",
        field="id_number",
    )


def _likely_error(likely: list[dict]) -> ValidationFailed:
    names = "；".join(_likely_summary(item) for item in likely)
    return ValidationFailed(
        _("疑似与已有学籍重复：%(who)s。请核对；确认不是同一学生时可选择“保留疑似重复”导入") % {"who": names},
        code="likely_duplicate",
        field="name",
    )


def _likely_summary(item: dict) -> str:
    if not isinstance(item, dict):
        return str(item)
    if item.get("summary"):
        return str(item["summary"])
    parts = [str(item.get(k)) for k in ("name", "national_number", "school_name", "school") if item.get(k)]
    return " ".join(parts) or json.dumps(item, ensure_ascii=False, default=str)


def _check_records(rows: list[Row], schools: _Schools, today: dt.date) -> None:
    template = gettext(READ_AS)  # translated once, not once per value read
    for row in rows:
        data = row.data
        school = schools.get(data.school_code) if data.school_code else None
        if isinstance(school, ValidationFailed):
            row.refuse(school, column=COLUMN_BY_KEY["school_code"].header)
            school = None
        elif school is None:
            row.refuse(ValidationFailed(_("学校标识码不能为空"), code="required", field="school_code"))
        row.school = school
        with codes.synonyms_used() as used:
            problems = pupil_problems(data, school=school, today=today)
        for exc in problems:
            row.refuse(exc)
        row.read_as = [read_as(item, template) for item in used]


READ_AS = gettext_noop("%(column)s“%(value)s”读作“%(name)s”")


def read_as(item: dict, template: str | None = None) -> dict:
    """A value read through a synonym, for the row report: ``户口性质“非农业”读作“非农业户口”``
    (``template``: ``READ_AS`` already translated)."""
    column = column_of(item["field"]) or str(codes.TABLE_LABELS.get(item["table"], item["table"]))
    message = (template or gettext(READ_AS)) % {"column": column, "value": item["value"], "name": item["name"]}
    return {"column": column, "field": item["field"], "value": item["value"], "code": item["code"],
            "message": message}


def _check_in_file(rows: list[Row]) -> None:
    """The same resident ID (or the same no-ID child) twice in the file refuses every copy."""
    by_id: dict[str, list[Row]] = defaultdict(list)
    by_child: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        data = row.data
        if data.id_number and data.id_type == "1":
            by_id[data.id_number].append(row)
        elif not data.id_number and data.name and data.birth_date:
            by_child[(data.school_code, data.name, data.birth_date, guardian_ids(data.guardians))].append(row)
    for group in list(by_id.values()) + list(by_child.values()):
        if len(group) < 2:
            continue
        numbers = [r.number for r in group]
        for row in group:
            others = "、".join(str(n) for n in numbers if n != row.number)
            message = (
                _("身份证件号在文件中重复出现：与第 %(rows)s 行相同") if row.data.id_number
                else _("同一名无身份证号的学生在文件中重复出现：与第 %(rows)s 行的姓名、出生日期和家庭成员相同")
            ) % {"rows": others}
            row.refuse(ValidationFailed(message, code="duplicate_in_file", field="id_number"),
                       column=COLUMN_BY_KEY["id_number"].header if row.data.id_number else COLUMN_BY_KEY["name"].header)


def _check_against_registry(rows: list[Row], *, keep_likely: bool, user=None, present: set[str] | None = None) -> None:
    """Rules across records for one batch (``enrolment.checks``): a few queries, never one per row.

    An active record of the row's own school that is the same child (same resident ID, or
    without one the same name, birth date and family) is a re-import: unchanged when every
    column agrees, refused where it differs. Held by another school, the ID is refused.
    """
    candidates = [row for row in rows if row.ok]
    checks = check_against_registry([row.data for row in candidates], [row.school for row in candidates])
    for row, check in zip(candidates, checks):
        match = check.existing
        if check.holder is not None and check.holder.school_id != row.school.pk:
            row.refuse(id_held_elsewhere_error(check.holder, user=user, name=row.data.name),
                       column=COLUMN_BY_KEY["id_number"].header)
        elif match is not None:
            columns = differences(match, row.data, present)
            if columns:
                row.refuse(_differs_error(match, columns))
            else:
                row.outcome = UNCHANGED
                row.national_number = match.national_number
        else:
            for exc in check.refusals:
                row.refuse(exc)
        if check.likely:
            row.likely = entry.likely_shown_to(user, check.likely)
            if not keep_likely:
                row.refuse(_likely_error(row.likely))


class _Peers:
    """The peer registries a dry run asks (``exchange.services.peers_active``, read once). A
    peer that does not answer a batch is not asked again for the later ones — one timeout
    per file, not per batch — and is named in the warning of every later row."""

    def __init__(self, peers) -> None:
        self.up = list(peers)
        self.down: list[str] = []


def _check_against_peers(rows: list[Row], *, user, peers: _Peers) -> None:
    """跨省查重 for one batch: every new row asked of each peer registry in one question
    (``enrolment.checks.peers_holding_many``). A row held there is refused as at the form;
    a peer that does not answer leaves the row importable with a ``peer_check_skipped``
    warning, recorded in the pupil's history when it is written."""
    asked = [row for row in rows if row.ok and row.outcome == NEW]
    if not asked or not (peers.up or peers.down):
        return
    checks = peers_holding_many([row.data for row in asked], user=user, peers=peers.up)
    down = list(peers.down)
    for check in checks:
        for name in check.unreachable:
            if name not in peers.down:
                peers.down.append(name)
    peers.up = [peer for peer in peers.up if peer.name not in peers.down]
    for row, check in zip(asked, checks):
        if check.holders:
            column = "id_number" if row.data.id_number else "name"
            row.refuse(id_held_in_other_province_error(check.holders[0]), column=COLUMN_BY_KEY[column].header)
        elif check.unreachable or down:
            row.warnings.append(peer_check_skipped(down + [n for n in check.unreachable if n not in down]))


def peer_check_skipped(peers: list[str]) -> dict:
    """The row report's warning of peers not asked (their names)."""
    return {"code": "peer_check_skipped", "peers": peers, "message": str(
        _("未能向外省学籍系统（%(peers)s）核对该学生是否已有学籍：对端暂时无法连接，导入时仍将建立学籍")
        % {"peers": "、".join(peers)})}


def check_rows(
    *,
    user,
    table: Table,
    keep_likely_duplicates: bool = False,
    progress: Callable[[int], None] | None = None,
    registry_results: dict[int, dict] | None = None,
) -> list[Row]:
    """The dry run over every line of ``table``: each row gets its outcome and all its problems.

    ``registry_results`` (row number → the dry run's report) stands in for the checks
    against the registry when nothing in it has changed since that dry run.
    """
    divisions = Divisions()
    schools = _Schools(user)
    today = timezone.localdate()
    rows = [Row(number=number, cells=cells) for number, cells in table.lines]
    for row in rows:
        row_to_record(row, table, divisions)
    _check_records(rows, schools, today)
    _check_in_file(rows)
    peers = _Peers(peers_active() if registry_results is None else [])
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        if registry_results is None:
            _check_against_registry(batch, keep_likely=keep_likely_duplicates, user=user, present=set(table.positions))
            _check_against_peers(batch, user=user, peers=peers)
        else:
            _registry_results_of(batch, registry_results)
        if progress is not None:
            progress(min(len(rows), start + BATCH_SIZE))
    for row in rows:
        if row.outcome != UNCHANGED:  # a new pupil: the registration's own rules (学生来源, 注册原因)
            for exc in source_problems(row.data):
                row.refuse(exc)
        if row.problems:
            row.outcome = REFUSED
    return rows


def rows_of_dry_run(*, user, reports: list[dict], records: dict[int, dict]) -> list[Row] | None:
    """The rows of a dry run, rebuilt from its report and the checked records of its new
    rows (``rosters.jobs``), for an import when nothing in the registry changed since: the
    outcomes as the dry run found them, the school of each new row asked again of
    ``school_for_write`` (the uploader may have lost the right meanwhile). ``None`` when a
    new row's record is missing: the file is then checked again."""
    schools = _Schools(user)
    rows = []
    for report in reports:
        row = Row(number=report["row"], cells=[], outcome=report["outcome"], likely=report.get("likely") or [],
                  read_as=report.get("read_as") or [], national_number=report.get("national_number", ""),
                  problems=list(report.get("problems") or []), saved=report, warnings=report.get("warnings") or [])
        record = records.get(row.number) if row.outcome == NEW else None
        if record is not None:
            row.data = record_from_json(record["data"])
            row.members = record["members"]
            school = schools.get(row.data.school_code)
            if isinstance(school, ValidationFailed):
                row.refuse(school, column=COLUMN_BY_KEY["school_code"].header)
            else:
                row.school = school
        elif row.outcome == NEW:
            return None
        rows.append(row)
    return rows


def _registry_results_of(rows: list[Row], saved: dict[int, dict]) -> None:
    """Take the registry-dependent outcome of each still-valid row from the dry run."""
    for row in rows:
        report = saved.get(row.number)
        if not row.ok or report is None:
            continue
        if report["outcome"] == REFUSED:
            row.problems.extend(report["problems"])
            row.outcome = REFUSED
        elif report["outcome"] == UNCHANGED:
            row.outcome = UNCHANGED
            row.national_number = report["national_number"]
        row.likely = report.get("likely") or []
        row.warnings = report.get("warnings") or []


def registry_changed_since(moment) -> bool:
    """Whether any pupil or family member was written after ``moment``, by any path: the
    audit trail (pghistory) records every insert, update and delete, bulk ones included."""
    return (
        moment is None
        or Pupil.pgh_event_model.objects.filter(pgh_created_at__gt=moment).exists()
        or Guardian.pgh_event_model.objects.filter(pgh_created_at__gt=moment).exists()
    )
