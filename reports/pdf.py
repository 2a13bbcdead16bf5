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
            return Image(io.BytesIO(handle.read()), width=24 * mm, height=30 * mm)
    except Exception:  # a missing or unreadable file: the sheet is still printed, without it
        logger.warning("photo of pupil %s could not be read for a document", sheet.pupil.pk)
        return Paragraph(gettext("（照片无法读取）"), SMALL)


#: The record sheet's page: A4 less the margins (mm), every box drawn tight so a full record
#: (every field, four family members, a few history lines) keeps to one page.
MARGIN = 12 * mm
PAGE_WIDTH = A4[0] - 2 * MARGIN
PHOTO_WIDTH = 28 * mm
SECTION_BG = colors.HexColor("#e8e8e8")
LABEL_BG = colors.HexColor("#f5f5f5")
TIGHT = [("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
         ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]
GAP = 1.5 * mm

CELL = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=9.5)
LABEL = ParagraphStyle("label", fontName=FONT, fontSize=7.5, leading=9)
HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=8.5, leading=10)
RECORD_TITLE = ParagraphStyle("record_title", parent=TITLE, fontSize=15, leading=18, spaceAfter=2 * mm)


class _Text(str):
    """A box's text, laid out by ``_fit`` once the box's width is known."""

    style = CELL


class _LabelText(_Text):
    style = LABEL


def _cell(text: str) -> _Text:
    return _Text(text)


def _label(text: str) -> _Text:
    return _LabelText(text)


def _fit(rows: list, widths: list) -> list:
    """Text that fits its box on one line stays a plain string (drawn as is, ~10× cheaper than
    a Paragraph: a class batch lays out thousands of boxes); longer text wraps in a Paragraph."""
    out = []
    for row in rows:
        line = []
        for column, cell in enumerate(row):
            if isinstance(cell, _Text):
                room = widths[column] - 4.5
                if "\n" not in cell and pdfmetrics.stringWidth(cell, FONT, cell.style.fontSize) <= room:
                    cell = str(cell)
                else:
                    cell = Paragraph(escape(str(cell)), cell.style)
            line.append(cell)
        out.append(line)
    return out


#: Plain-string boxes: the value size (labels that fit are drawn at the same size).
PLAIN = [("FONTSIZE", (0, 0), (-1, -1), CELL.fontSize), ("LEADING", (0, 0), (-1, -1), CELL.leading)]


def _grid(rows: list, widths: list, extra: list = ()) -> Table:
    """A boxed table, its first row the section heading across it."""
    table = Table(_fit(rows, widths), colWidths=widths)
    table.setStyle(TableStyle([*GRID.getCommands(), *PLAIN, *TIGHT, ("SPAN", (0, 0), (-1, 0)),
                               ("BACKGROUND", (0, 0), (-1, 0), SECTION_BG), *extra]))
    return table


def _section(title: str, items: list[tuple[str, str]], *, pairs: int = 3, photo=None) -> Table:
    """One section of the form: a heading across the grid, then ``pairs`` (label, value) boxes
    a line; section 一 keeps a right-hand column for the photo box (照片), as the form does.
    An empty field is a blank box."""
    width = PAGE_WIDTH - (PHOTO_WIDTH if photo is not None else 0)
    label_width = 20 * mm
    value_width = width / pairs - label_width
    rows: list = [[Paragraph(escape(title), HEADING)] + [""] * (2 * pairs - 1 + (photo is not None))]
    for i in range(0, len(items), pairs):
        chunk = items[i:i + pairs] + [("", "")] * (pairs - len(items[i:i + pairs]))
        row = [box for label, value in chunk for box in (_label(label), _cell(value))]
        rows.append(row + ([""] if photo is not None else []))
    widths = [label_width, value_width] * pairs + ([PHOTO_WIDTH] if photo is not None else [])
    style = [("BACKGROUND", (2 * k, 1), (2 * k, -1), LABEL_BG) for k in range(pairs)]
    if photo is not None:
        rows[1][-1] = photo
        style += [("SPAN", (-1, 1), (-1, -1)), ("ALIGN", (-1, 1), (-1, 1), "CENTER"),
                  ("VALIGN", (-1, 1), (-1, 1), "TOP")]
    return _grid(rows, widths, style)


#: Family members the form has room for (家庭成员1–4); a fifth gets a column of its own.
FAMILY_COLUMNS = 4


def _family(sheet: RecordSheet) -> Table:
    """六、家庭成员或监护人信息: one column a member (the national form's four), one row a field."""
    blank = [""] * len(GUARDIAN_COLUMNS)
    members = sheet.guardians + [blank] * (FAMILY_COLUMNS - len(sheet.guardians))  # the form's four, blank or not
    width = (PAGE_WIDTH - 24 * mm) / len(members)
    rows: list = [[Paragraph(escape(gettext("六、学生家庭成员或监护人信息")), HEADING)] + [""] * len(members)]
    rows += [[_label(column)] + [_cell(member[i]) for member in members] for i, column in enumerate(GUARDIAN_COLUMNS)]
    if not sheet.guardians:
        rows[1][1] = _cell(gettext("无"))
    widths = [24 * mm] + [width] * len(members)
    return _grid(rows, widths, [("BACKGROUND", (0, 1), (0, -1), LABEL_BG)])


def _history(sheet: RecordSheet) -> Table:
    rows = [[Paragraph(escape(gettext("七、学籍变动记录")), HEADING), ""], [_label(gettext("日期")), _label(gettext("变动情况"))]]
    rows += [[_cell(day), _cell(text)] for day, text in sheet.history] or [["", _cell(gettext("无"))]]
    return _grid(rows, [24 * mm, PAGE_WIDTH - 24 * mm], [("BACKGROUND", (0, 1), (-1, 1), LABEL_BG)])


def _signatures(sheet: RecordSheet, verify_url: str) -> Table:
    """The form's foot: who signs and who checks (学生（家长）签字, 班主任, 学校审核（盖章）), the
    print date and number, and the verification QR code beside them."""
    row = [_label(gettext("学生（家长）签字")), "", _label(gettext("班主任")), "", _label(gettext("学校审核（盖章）")), ""]
    day = [_label(gettext("打印日期")), _cell(sheet.document.issued_at.strftime("%Y-%m-%d")), "", "", "", ""]
    words = Paragraph(
        gettext("编号：%(number)s<br/>扫描二维码或访问以下网址核验本文书的真实性：<br/>%(url)s")
        % {"number": sheet.document.number, "url": escape(verify_url)}, SMALL)
    width = PAGE_WIDTH - 26 * mm
    widths = [w * width / 174 for w in (24, 34, 18, 34, 24, 40)]
    signs = Table(_fit([row, day, [words, "", "", "", "", ""]], widths), colWidths=widths,
                  rowHeights=[12 * mm, None, None])
    signs.setStyle(TableStyle([*GRID.getCommands(), *PLAIN, *TIGHT, ("BACKGROUND", (0, 0), (0, 1), LABEL_BG),
                               ("BACKGROUND", (2, 0), (2, 0), LABEL_BG), ("BACKGROUND", (4, 0), (4, 0), LABEL_BG),
                               ("SPAN", (1, 1), (-1, 1)), ("SPAN", (0, 2), (-1, 2)),
                               ("LINEBELOW", (0, 2), (-1, 2), 0, colors.white),
                               ("LINEBEFORE", (0, 2), (0, 2), 0, colors.white),
                               ("LINEAFTER", (-1, 2), (-1, 2), 0, colors.white)]))
    table = Table([[signs, QrFlowable(verify_url, size=24 * mm)]], colWidths=[width, 26 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return table


def _record_story(sheet: RecordSheet, verify_url: str) -> list:
    """The 学生学籍信息表 laid out as the national 学生基本信息表: the school's line, then the
    form's sections in its field order, boxed, the photo box beside section 一, the family
    one column a member, the history, and at the foot the signatures with the verification
    QR code: one A4 page for a record with every field filled."""
    school = sheet.pupil.school
    widths = [20 * mm, PAGE_WIDTH - 84 * mm, 20 * mm, 44 * mm]
    head = Table(_fit([[_label(gettext("学校名称")), _cell(school.name), _label(gettext("学校标识码")),
                        _cell(school.code)]], widths), colWidths=widths)
    head.setStyle(TableStyle([*GRID.getCommands(), *PLAIN, *TIGHT, ("BACKGROUND", (0, 0), (0, 0), LABEL_BG),
                              ("BACKGROUND", (2, 0), (2, 0), LABEL_BG)]))
    story = [Paragraph(gettext("学生学籍信息表"), RECORD_TITLE), head, Spacer(1, GAP)]
    for index, (title, items) in enumerate(sheet.sections):
        story += [_section(title, items, pairs=2 if index == 0 else 3, photo=_photo(sheet) if index == 0 else None),
                  Spacer(1, GAP)]
    story += [_family(sheet), Spacer(1, GAP), _history(sheet), Spacer(1, GAP), _signatures(sheet, verify_url)]
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
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=gettext("学籍文书"))
    story: list = []
    for index, (sheet, url) in enumerate(sheets):
        if index:
            story.append(PageBreak())
        builder = _record_story if sheet.document.kind == IssuedDocument.Kind.RECORD else _enrolment_story
        story += builder(sheet, url)
    pdf.build(story)
    return buffer.getvalue()
