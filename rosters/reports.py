"""The empty template with the code tables, and the row-by-row report of an import."""


from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict

import openpyxl
from django.utils.translation import gettext
from openpyxl.styles import Font

from registry import codes
from registry.fields import CODE, GUARDIAN_FIELD_BY_NAME, PUPIL_FIELD_BY_NAME
from registry.nohukou import VITAL_NAMES
from rosters.columns import COLUMNS, HEADERS, OUTCOME_LABELS
from rosters.exporting import TEXT_KEYS, neutralise
from rosters.jobs import load_rows
from rosters.models import RosterImport
from rosters.reading import CSV, XLSX
from schools.models import GRADE_NAMES

logger = logging.getLogger("rosters")


def roster_template() -> bytes:
    """The empty template: the headers in order, and a second sheet with the code tables."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = gettext("花名册")
    sheet.append(HEADERS)
    for index, column in enumerate(COLUMNS, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, len(column.header) * 2 + 2)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        if column.key in TEXT_KEYS:
            for row in range(2, 2002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    tables = workbook.create_sheet(gettext("代码表"))
    tables.append([gettext("代码表"), gettext("代码"), gettext("名称"), gettext("用于列")])
    used_by: dict[str, list[str]] = defaultdict(list)
    for column in COLUMNS:
        table = column.key.split("_", 1)[1] if column.key.startswith("g") and column.key[1].isdigit() else column.key
        spec = PUPIL_FIELD_BY_NAME.get(table) or GUARDIAN_FIELD_BY_NAME.get(table)
        table = spec.table if spec is not None and spec.kind == CODE else table
        if table in codes.TABLE_LABELS:
            used_by[table].append(column.header)
    for table, table_label in codes.TABLE_LABELS.items():
        for code, name in codes.table(table).items():
            tables.append([str(table_label), code, name, "、".join(used_by.get(table, []))])
    for number, name in GRADE_NAMES.items():
        tables.append([gettext("年级"), str(number), str(name), "年级"])
    for value in ("是", "否"):
        tables.append([gettext("是否"), value, value, "、".join(c.header for c in COLUMNS if c.key.endswith("_is_guardian"))])
    for name in VITAL_NAMES.values():
        tables.append([gettext("状况"), name, name, "、".join(c.header for c in COLUMNS if c.key.endswith("_vital"))])
    notes = workbook.create_sheet(gettext("填写说明"))
    for line in (
        gettext("每行一名学生，表头不要修改；英文列名也可识别。"),
        gettext("代码列可以填写代码或名称，例如 性别 填“1”或“男”，民族 填“01”或“汉族”。"),
        gettext("常用简称也可识别，例如 户口性质 填“非农业”、民族 填“汉”、是否类的列填“是/否”“Y/N”“1/0”；导入结果会写明按什么读取。"),
        gettext("日期可写成 2015-03-08、2015/3/8、20150308，或使用 Excel 日期单元格；入学年月可写成 2021-09。"),
        gettext("身份证件号、学校标识码请使用文本格式，避免 Excel 把号码变成科学计数法。"),
        gettext("没有身份证号的学生：身份证件类型填“其他”，身份证件号留空。"),
        gettext("户口所在地填写 6 位行政区划代码或完整名称。"),
        gettext("家庭成员最多 4 位，第一位标记为监护人的是第一监护人；状况填“健在”“死亡”或“失踪”，"
                "失踪须填写公安机关证明编号和日期。"),
    ):
        notes.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


REPORT_HEADERS = ["行号", "结果", "学校标识码", "姓名", "身份证件号", "全国学籍号", "列", "代码", "说明"]


def report_lines(job: RosterImport) -> list[list[str]]:
    """The row report: one line per row, and one per reason for a refused row."""
    lines = []
    for row in load_rows(job):
        base = [row["row"], str(OUTCOME_LABELS.get(row["outcome"], row["outcome"])), row["school_code"], row["name"],
                row["id_number"], row["national_number"]]
        if row["problems"]:
            for p in row["problems"]:
                lines.append(base + [p["column"], p["code"], p["message"]])
        elif not row.get("read_as") and not row.get("warnings"):
            lines.append(base + ["", "", ""])
        for note in row.get("read_as", ()):
            lines.append(base + [note["column"], "read_as", note["message"]])
        for warning in row.get("warnings") or ():
            lines.append(base + ["", warning["code"], warning["message"]])
    return lines


def report_bytes(job: RosterImport, *, file_format: str = CSV) -> bytes:
    lines = report_lines(job)
    if file_format == XLSX:
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet(gettext("导入结果"))
        sheet.append(REPORT_HEADERS)
        for line in lines:
            sheet.append([neutralise(v) for v in line])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(REPORT_HEADERS)
    writer.writerows([[neutralise(v) for v in line] for line in lines])
    return ("\ufeff" + text.getvalue()).encode("utf-8")
