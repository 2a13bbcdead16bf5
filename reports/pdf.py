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
from reports.documents import RecordSheet
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


def _record_story(sheet: RecordSheet, verify_url: str) -> list:
    story = [Paragraph(gettext("学生学籍信息表"), TITLE)]
    pairs = sheet.fields
    lines = [[pairs[i][0], pairs[i][1], pairs[i + 1][0] if i + 1 < len(pairs) else "",
              pairs[i + 1][1] if i + 1 < len(pairs) else ""] for i in range(0, len(pairs), 2)]
    fields = Table(lines, colWidths=[24 * mm, 46 * mm, 24 * mm, 46 * mm])
    fields.setStyle(GRID)
    head = Table([[fields, _photo(sheet)]], colWidths=[142 * mm, 30 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [head, Spacer(1, 5 * mm), Paragraph(gettext("家庭成员"), BODY)]
    family = [[gettext("姓名"), gettext("关系"), gettext("身份证件号"), gettext("联系电话"), gettext("监护人")],
              *sheet.guardians]
    table = Table(family, colWidths=[28 * mm, 22 * mm, 52 * mm, 36 * mm, 18 * mm])
    table.setStyle(GRID)
    story += [table, Spacer(1, 5 * mm), Paragraph(gettext("学籍变动记录"), BODY)]
    history = [[day, Paragraph(escape(text), BODY)] for day, text in sheet.history] or [["—", gettext("无")]]
    table = Table(history, colWidths=[26 * mm, 130 * mm])
    table.setStyle(GRID)
    story += [table, Spacer(1, 6 * mm), _footer(sheet.document, verify_url)]
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
