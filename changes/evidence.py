"""Evidence files (证明材料): JPG, PNG or PDF up to 2 MB, judged by their bytes.

The uploaded file name is kept as a label only; the stored name is generated, and files
are served by a view that checks scope (``MEDIA_URL`` is never routed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from registry.errors import ValidationFailed
from registry.uploads import MAX_PROOF_BYTES, proof_type

MAX_BYTES = MAX_PROOF_BYTES


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    original_name: str
    extension: str
    content_type: str

    def stored_name(self) -> str:
        return f"{uuid.uuid4().hex}.{self.extension}"


def check_upload(upload) -> CheckedFile:
    """Read an uploaded file (≤ 2 MB) and tell its type by its first bytes."""
    name = str(getattr(upload, "name", "") or "file")[:200]
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _too_large(name)
    content = upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise _too_large(name)
    if not content:
        raise ValidationFailed(_("文件“%(name)s”是空文件") % {"name": name}, code="evidence_empty", field="evidence")
    found = proof_type(content)
    if found is not None:
        extension, content_type = found
        return CheckedFile(content=content, original_name=name, extension=extension, content_type=content_type)
    raise ValidationFailed(
        _("文件“%(name)s”不是 JPG、PNG 或 PDF 文件（按文件内容判断）") % {"name": name},
        code="evidence_type",
        field="evidence",
    )


def _too_large(name: str) -> ValidationFailed:
    return ValidationFailed(
        _("文件“%(name)s”超过 2 MB") % {"name": name}, code="evidence_too_large", field="evidence"
    )
