"""Identity checks (身份核验): the province's resident IDs checked against a population-registry
extract; a failed check makes the pupil a problem record."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import acting_as
from accounts.permissions import require_province_admin
from accounts.scope import restrict
from duplicates.models import (
    IdentityCheckRun,
)
from kernel import matching
from kernel.errors import ValidationFailed
from registry.models import ACTIVE_STATUSES, Pupil

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonRecord:
    id_number: str
    name: str
    sex: str
    birth_date: str


class PopulationRegistry:
    """The population registry (人口信息库) as the province can ask it: one ID at a time."""

    def lookup(self, id_number: str) -> PersonRecord | None:  # pragma: no cover - interface
        raise NotImplementedError


class ExtractFileRegistry(PopulationRegistry):
    """A population-registry extract as a public-security bureau provides it: a CSV with the
    columns ID number, name, sex, birth date (a header row is optional; UTF-8 or GBK)."""

    def __init__(self, content: bytes, *, name: str = "extract.csv") -> None:
        if b"\x00" in content[:4096]:
            raise ValidationFailed(_("文件“%(name)s”不是 CSV 文本文件（按文件内容判断）") % {"name": name},
                                   code="extract_not_csv", field="extract_file")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise ValidationFailed(_("无法识别文件编码"), code="extract_encoding", field="extract_file")
        self.people: dict[str, PersonRecord] = {}
        for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 4:
                raise ValidationFailed(_("文件“%(name)s”第 %(line)s 行应有 4 列：身份证号、姓名、性别、出生日期")
                                       % {"name": name, "line": line}, code="extract_columns", field="extract_file")
            number = matching.normalize_id(row[0].strip())
            if line == 1 and not number[:1].isdigit():
                continue  # header
            self.people[number] = PersonRecord(number, row[1].strip(), row[2].strip(), row[3].strip())

    def lookup(self, id_number: str) -> PersonRecord | None:
        return self.people.get(matching.normalize_id(id_number))


def identity_check_run(*, user, extract_file, registry: PopulationRegistry | None = None) -> IdentityCheckRun:
    """Check every active resident ID of the province against the population registry:
    身份证号不存在 / 身份证号与姓名不匹配 → identity failed (a problem record); passed otherwise."""
    membership = require_province_admin(user)
    province = membership.division_id
    name = str(getattr(extract_file, "name", "") or "extract.csv")[:200]
    if registry is None:
        registry = ExtractFileRegistry(extract_file.read(), name=name)
    results: dict[str, list[int]] = {"passed": [], "not_found": [], "mismatched": []}
    pupils = restrict(Pupil.objects.all(), user).filter(status__in=ACTIVE_STATUSES, id_type="1").exclude(id_number="")
    for pk, number, pupil_name in pupils.values_list("pk", "id_number", "name").iterator(chunk_size=10000):
        person = registry.lookup(number)
        if person is None:
            results["not_found"].append(pk)
        elif matching.simplified_name(person.name) != matching.simplified_name(pupil_name):
            results["mismatched"].append(pk)
        else:
            results["passed"].append(pk)
    notes = {"passed": "", "not_found": _("身份证号不存在"), "mismatched": _("身份证号与姓名不匹配")}
    with transaction.atomic(), acting_as(user, identity_check=name):
        for outcome, pks in results.items():
            status = Pupil.IdentityStatus.PASSED if outcome == "passed" else Pupil.IdentityStatus.FAILED
            for start in range(0, len(pks), 5000):
                Pupil.objects.filter(pk__in=pks[start:start + 5000]).update(
                    identity_status=status, identity_note=notes[outcome], updated_at=timezone.now())
        run = IdentityCheckRun.objects.create(
            province_id=province, started_by=user, source_name=name,
            extract_rows=len(getattr(registry, "people", ())), checked=sum(map(len, results.values())),
            passed=len(results["passed"]), not_found=len(results["not_found"]),
            mismatched=len(results["mismatched"]),
        )
    log.info("identity check %s by %s: %s", run.pk, user, {k: len(v) for k, v in results.items()})
    return run
