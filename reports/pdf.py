"""PDF of issued documents with ReportLab (pure Python). Chinese text uses ReportLab's built-in
Adobe CJK font STSong-Light (a CID font: nothing to install, PDF readers bring the glyphs);
the verification QR code is encoded by ReportLab's QR encoder and drawn here."""

from __future__ import annotations

import io
import itertools
import logging
from xml.sax.saxutils import escape

from django.core.files.storage import default_storage
from django.utils.translation import gettext
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from registry import codes
from reports.documents import GUARDIAN_COLUMNS, RecordSheet
from reports.models import IssuedDocument

logger = logging.getLogger("reports")
FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=1, spaceAfter=6 * mm)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=15)
BIG = ParagraphStyle("big", fontName=FONT, fontSize=13, leading=24, firstLineIndent=26)
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555"))
GRID = TableStyle([
    ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 9.5),
    ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])


def qr_modules(text: str) -> list[list[bool]]:
    """The QR code's dark modules, row by row (error correction M). The mask is fixed: any of
    the eight is valid, and scoring all eight in pure Python costs ~80 ms a code."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.version = code.calculate_version()
    code.makeImpl(False, 0)
    return [[bool(m) for m in row] for row in code.modules]


def _runs(modules: list[list[bool]]):
    """``(row, column, length)`` of each horizontal run of dark modules."""
    for row, line in enumerate(modules):
        column = 0
        for dark, run in itertools.groupby(line):
            length = len(list(run))
            if dark:
                yield row, column, length
            column += length


class QrFlowable(Flowable):
    """A QR code drawn straight on the page, one rectangle per run of dark modules."""

    def __init__(self, text: str, size: float = 28 * mm, border: int = 2):
        super().__init__()
        self.modules, self.size, self.border = qr_modules(text), size, border
        self.width = self.height = size

    def draw(self):
        side = len(self.modules) + 2 * self.border
        box = self.size / side
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for row, column, length in _runs(self.modules):
            canvas.rect((column + self.border) * box, self.size - (row + self.border + 1) * box, length * box, box,
                        stroke=0, fill=1)


def qr_svg(text: str, border: int = 2) -> str:
    """The QR code as SVG markup for the printable page: one path, no script, no file."""
    modules = qr_modules(text)
    parts = [f"M{column + border},{row + border}h{length}v1h-{length}z" for row, column, length in _runs(modules)]
    side = len(modules) + 2 * border
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
            f'<rect width="{side}" height="{side}" fill="#fff"/><path d="{"".join(parts)}" fill="#000"/></svg>')


def _photo(sheet: RecordSheet):
    if not sheet.pupil.photo:
        return Paragraph(gettext("（无照片）"), SMALL)
    try:
        with default_storage.open(sheet.pupil.photo.name, "rb") as handle:
            return Image(io.BytesIO(handle.read()), width=26 * mm, height=32 * mm)
    except Exception:  # a missing or unreadable file: the sheet is still printed, without it
        logger.warning("photo of pupil %s could not be read for a document", sheet.pupil.pk)
        return Paragraph(gettext("（照片无法读取）"), SMALL)


#: The record sheet's grid: label, value, label, value, and the photo column of section 一.
WIDTHS = [24 * mm, 48 * mm, 24 * mm, 48 * mm, 30 * mm]
SECTION_BG = colors.HexColor("#e8e8e8")
LABEL_BG = colors.HexColor("#f5f5f5")


CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11)


LABEL = ParagraphStyle("label", fontName=FONT, fontSize=8.5, leading=10)


def _cell(text: str):
    return Paragraph(escape(str(text)), CELL)


def _label(text: str):
    return Paragraph(escape(str(text)), LABEL)


def _section(title: str, items: list[tuple[str, str]], *, photo=None) -> Table:
    """One section of the form: a heading across the grid, then two (label, value) boxes a
    line; section 一 keeps its right-hand column for the photo box (照片), as the form does."""
    columns = 4 if photo is None else 5
    rows = [[title] + [""] * (columns - 1)]
    for i in range(0, len(items), 2):
        pair = items[i:i + 2] + [("", "")] * (2 - len(items[i:i + 2]))
        rows.append([_label(pair[0][0]), _cell(pair[0][1]), _label(pair[1][0]), _cell(pair[1][1])]
                    + ([""] if photo else []))
    widths = WIDTHS[:4] if photo is not None else [WIDTHS[0], WIDTHS[1] + WIDTHS[4] / 2, WIDTHS[2],
                                                   WIDTHS[3] + WIDTHS[4] / 2]
    if photo is not None:
        rows[1][4] = photo
        widths = WIDTHS
    style = [*GRID.getCommands(), ("SPAN", (0, 0), (-1, 0)), ("BACKGROUND", (0, 0), (-1, 0), SECTION_BG),
             ("BACKGROUND", (0, 1), (0, -1), LABEL_BG), ("BACKGROUND", (2, 1), (2, -1), LABEL_BG)]
    if photo is not None:
        style += [("SPAN", (4, 1), (4, -1)), ("ALIGN", (4, 1), (4, 1), "CENTER")]
    table = Table(rows, colWidths=widths, rowHeights=[7 * mm] + [8.5 * mm] * (len(rows) - 1))
    table.setStyle(TableStyle(style))
    return table


def _family(sheet: RecordSheet) -> Table:
    columns = [_label(c) for c in GUARDIAN_COLUMNS]
    rows = [[gettext("四、学生家庭成员或监护人信息")] + [""] * (len(columns) - 1), columns]
    rows += [[_cell(c) for c in g] for g in sheet.guardians] or [[gettext("无")] + [""] * (len(columns) - 1)]
    table = Table(rows, colWidths=[20 * mm, 16 * mm, 38 * mm, 26 * mm, 16 * mm, 18 * mm, 40 * mm])
    table.setStyle(TableStyle([*GRID.getCommands(), ("SPAN", (0, 0), (-1, 0)), ("BACKGROUND", (0, 0), (-1, 0), SECTION_BG),
                               ("BACKGROUND", (0, 1), (-1, 1), LABEL_BG), ("FONTSIZE", (0, 1), (-1, 1), 8.5)]))
    return table


def _history(sheet: RecordSheet) -> Table:
    rows = [[gettext("五、学籍变动记录"), ""], [gettext("日期"), gettext("变动情况")]]
    rows += [[day, _cell(text)] for day, text in sheet.history] or [["—", gettext("无")]]
    table = Table(rows, colWidths=[26 * mm, 148 * mm])
    table.setStyle(TableStyle([*GRID.getCommands(), ("SPAN", (0, 0), (-1, 0)), ("BACKGROUND", (0, 0), (-1, 0), SECTION_BG),
                               ("BACKGROUND", (0, 1), (-1, 1), LABEL_BG)]))
    return table


def _signatures(sheet: RecordSheet) -> Table:
    """The form's foot: who signs and who checks (学生（家长）签字, 班主任, 学校审核（盖章）)."""
    row = [_label(gettext("学生（家长）签字")), "", _label(gettext("班主任")), "", _label(gettext("学校审核（盖章）")), ""]
    day = [_label(gettext("打印日期")), sheet.document.issued_at.strftime("%Y-%m-%d"), "", "", "", ""]
    table = Table([row, day], colWidths=[24 * mm, 34 * mm, 18 * mm, 34 * mm, 24 * mm, 40 * mm],
                  rowHeights=[14 * mm, 7 * mm])
    table.setStyle(TableStyle([*GRID.getCommands(), ("BACKGROUND", (0, 0), (0, -1), LABEL_BG),
                               ("BACKGROUND", (2, 0), (2, 0), LABEL_BG), ("BACKGROUND", (4, 0), (4, 0), LABEL_BG),
                               ("SPAN", (1, 1), (-1, 1))]))
    return table


def _record_story(sheet: RecordSheet, verify_url: str) -> list:
    """The 学生学籍信息表 laid out as the national 学生基本信息表: the school's line, then the
    form's sections in its field order, boxed, the photo box beside section 一, the
    signatures at the foot; the verification QR below."""
    school = sheet.pupil.school
    head = Table([[gettext("学校名称"), _cell(school.name), gettext("学校标识码"), school.code]],
                 colWidths=[24 * mm, 84 * mm, 24 * mm, 42 * mm])
    head.setStyle(TableStyle([*GRID.getCommands(), ("BACKGROUND", (0, 0), (0, 0), LABEL_BG),
                              ("BACKGROUND", (2, 0), (2, 0), LABEL_BG)]))
    story = [Paragraph(gettext("学生学籍信息表"), TITLE), head, Spacer(1, 3 * mm)]
    for index, (title, items) in enumerate(sheet.sections):
        story += [_section(title, items, photo=_photo(sheet) if index == 0 else None), Spacer(1, 3 * mm)]
    story += [_family(sheet), Spacer(1, 3 * mm), _history(sheet), Spacer(1, 3 * mm), _signatures(sheet),
              Spacer(1, 4 * mm), _footer(sheet.document, verify_url)]
    return story


def _enrolment_story(sheet: RecordSheet, verify_url: str) -> list:
    pupil = sheet.pupil
    text = gettext(
        "兹证明 %(name)s（性别：%(sex)s，出生日期：%(birth)s，全国学籍号：%(number)s）系我校 %(grade)s 年级"
        "%(class)s 在读学生，学籍状态：%(status)s。") % {
        "name": escape(pupil.name), "sex": codes.label("sex", pupil.sex), "birth": pupil.birth_date.isoformat(),
        "number": pupil.national_number, "grade": pupil.grade,
        "class": gettext("%(n)s 班") % {"n": pupil.school_class.number} if pupil.school_class_id else "",
        "status": pupil.get_status_display()}
    return [
        Paragraph(gettext("在读证明"), TITLE), Paragraph(text, BIG), Paragraph(gettext("特此证明。"), BIG),
        Spacer(1, 18 * mm),
        Paragraph(f"{escape(pupil.school.name)}（{gettext('盖章')}）", ParagraphStyle("right", parent=BODY, alignment=2)),
        Paragraph(sheet.document.issued_at.strftime("%Y-%m-%d"), ParagraphStyle("right2", parent=BODY, alignment=2)),
        Spacer(1, 12 * mm), _footer(sheet.document, verify_url),
    ]


def _footer(document: IssuedDocument, verify_url: str):
    words = Paragraph(
        gettext("编号：%(number)s<br/>扫描二维码或访问以下网址核验本文书的真实性：<br/>%(url)s")
        % {"number": document.number, "url": escape(verify_url)}, SMALL)
    table = Table([[QrFlowable(verify_url), words]], colWidths=[32 * mm, 130 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def documents_pdf(sheets: list[tuple[RecordSheet, str]]) -> bytes:
    """One PDF, a page (or more) per document, from ``(sheet, verification URL)`` pairs."""
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=gettext("学籍文书"))
    story: list = []
    for index, (sheet, url) in enumerate(sheets):
        if index:
            story.append(PageBreak())
        builder = _record_story if sheet.document.kind == IssuedDocument.Kind.RECORD else _enrolment_story
        story += builder(sheet, url)
    pdf.build(story)
    return buffer.getvalue()
