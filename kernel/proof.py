"""Proof material (证明材料) shared by every chain: JPG, PNG or PDF, at most 2 MB a file and
ten files a business, judged by the file's first bytes — never by its name.

Transfers (转学证明), status changes (异动证明) and duplicate cases (佐证材料) all take their
files through ``check_proofs`` / ``check_proof``. The uploaded name is kept as a label
only: ``ProofFile.stored_name`` is generated, and files are served by views that check
scope (``MEDIA_URL`` is never routed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kernel.errors import ValidationFailed

MAX_PROOF_BYTES = 2 * 1024 * 1024
MAX_PROOF_FILES = 10

#: (magic prefix, extension, MIME type)
PROOF_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)


@dataclass(frozen=True)
class Upload:
    """A file as a service sees it when it does not come from a form: a name and bytes."""

    name: str
    content: bytes
    size: int | None = None


@dataclass(frozen=True)
class ProofFile:
    """A file that passed the proof rule."""

    content: bytes
    original_name: str
    extension: str
    content_type: str

    def stored_name(self) -> str:
        return f"{uuid.uuid4().hex}.{self.extension}"


def proof_type(content: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of a proof file by its bytes; ``None`` when it is none of them."""
    for magic, extension, content_type in PROOF_SIGNATURES:
        if content.startswith(magic):
            return extension, content_type
    return None


def check_proof(upload, *, field: str = "evidence") -> ProofFile:
    """Read one uploaded file (a Django upload, or an ``Upload``) and judge it by its bytes."""
    name = str(getattr(upload, "name", "") or "file")[:200]
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_PROOF_BYTES:
        raise _too_large(name, size, field)
    content = upload.content if isinstance(upload, Upload) else upload.read(MAX_PROOF_BYTES + 1)
    if len(content) > MAX_PROOF_BYTES:
        raise _too_large(name, len(content), field)
    if not content:
        raise ValidationFailed(
            _("证明材料“%(name)s”是空文件") % {"name": name}, code="proof_empty", field=field,
            aliases=("evidence_empty",),
        )
    found = proof_type(content)
    if found is None:
        raise ValidationFailed(
            _("证明材料“%(name)s”不是 JPG、PNG 或 PDF 文件（按文件内容判断）") % {"name": name},
            code="proof_type",
            field=field,
            aliases=("attachment_type", "evidence_type"),
        )
    extension, content_type = found
    return ProofFile(content=content, original_name=name, extension=extension, content_type=content_type)


def check_proofs(uploads: Iterable, *, field: str = "attachments") -> list[ProofFile]:
    """The files of one upload, refusing the first bad one by its position (``attachments[2]``)."""
    uploads = list(uploads)
    require_room(already=0, adding=len(uploads), field=field)
    return [check_proof(upload, field=f"{field}[{index}]") for index, upload in enumerate(uploads)]


def require_room(*, already: int, adding: int, field: str = "attachments") -> None:
    """A business holds at most ``MAX_PROOF_FILES`` files."""
    if already + adding > MAX_PROOF_FILES:
        raise ValidationFailed(
            _("证明材料最多%(n)s个文件") % {"n": MAX_PROOF_FILES}, code="too_many_proofs", field=field,
            aliases=("too_many_attachments",),
        )


def _too_large(name: str, size: int, field: str) -> ValidationFailed:
    return ValidationFailed(
        _("证明材料“%(name)s”大小为%(size).1f MB，超过2 MB上限") % {"name": name, "size": size / 1024 / 1024},
        code="proof_too_large",
        field=field,
        aliases=("attachment_too_large", "evidence_too_large"),
    )
