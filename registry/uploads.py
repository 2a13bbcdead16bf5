"""Proof material (证明材料) shared by every chain: JPG, PNG or PDF, at most 2 MB each,
judged by the file's first bytes — never by its name."""

from __future__ import annotations

MAX_PROOF_BYTES = 2 * 1024 * 1024

#: (magic prefix, extension, MIME type)
PROOF_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)


def proof_type(content: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of a proof file by its bytes; ``None`` when it is none of them."""
    for magic, extension, content_type in PROOF_SIGNATURES:
        if content.startswith(magic):
            return extension, content_type
    return None
