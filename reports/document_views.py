"""Document pages: issue (POST), the printable page and the PDF of an issued document, a
class batch, and the public verification page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from kernel.errors import RegistryError, ValidationFailed
from reports import documents, pdf
from reports.views import download, error_page

PDF_TYPE = "application/pdf"


def _verify_url(request, document) -> str:
    return request.build_absolute_uri(reverse("documents:verify", args=[documents.verification_code(document)]))


@login_required
@require_POST
def document_issue(request):
    """Issue a 学籍表 or 在读证明 for a pupil; then show it."""
    try:
        document = documents.document_issue(user=request.user, national_number=request.POST.get("pupil", ""),
                                            kind=request.POST.get("kind", ""),
                                            request_id=getattr(request, "request_id", ""))
    except RegistryError as exc:
        return error_page(request, exc)
    return redirect("documents:detail", number=document.number)


@login_required
@require_POST
def documents_batch(request):
    """学籍表 for every pupil 在读 of a class, issued together, as one PDF."""
    try:
        value = request.POST.get("class", "")
        if not value.isdigit() or len(value) > 18:
            raise ValidationFailed(gettext("班级编号有误"), code="class_invalid", field="class")
        issued = documents.documents_issue_for_class(user=request.user, class_id=int(value),
                                                     kind=request.POST.get("kind", "record"),
                                                     request_id=getattr(request, "request_id", ""))
    except RegistryError as exc:
        return error_page(request, exc)
    content = pdf.documents_pdf([(documents.record_sheet(d), _verify_url(request, d)) for d in issued])
    return download(content, f"{gettext('学籍表')}_{issued[0].school.code}_{timezone.localdate():%Y%m%d}.pdf", PDF_TYPE)


@login_required
@require_GET
def document_detail(request, number: str):
    """The printable page of an issued document (print CSS: the browser prints only the sheet)."""
    try:
        document = documents.document_get(request.user, number)
    except RegistryError as exc:
        return error_page(request, exc)
    url = _verify_url(request, document)
    return render(request, "reports/document.html", {
        "sheet": documents.record_sheet(document), "document": document, "verify_url": url,
        "qr_svg": pdf.qr_svg(url), "is_record": document.kind == document.Kind.RECORD,
        "guardian_columns": documents.GUARDIAN_COLUMNS,
    })


@login_required
@require_GET
def document_pdf(request, number: str):
    try:
        document = documents.document_get(request.user, number)
    except RegistryError as exc:
        return error_page(request, exc)
    content = pdf.documents_pdf([(documents.record_sheet(document), _verify_url(request, document))])
    return download(content, f"{document.number}.pdf", PDF_TYPE)


@require_GET
def document_verify(request, code: str):
    """Public: whether a document was issued here, with only what the paper itself shows."""
    try:
        verification = documents.document_verify(code)
    except RegistryError as exc:
        return render(request, "reports/verify.html", {"error": exc}, status=exc.status)
    return render(request, "reports/verify.html", {"verification": verification})
