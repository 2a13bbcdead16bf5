"""Proof material is judged by its bytes: the one rule every chain uses."""

import pytest

from kernel.errors import ValidationFailed
from kernel.proof import MAX_PROOF_BYTES, MAX_PROOF_FILES, Upload, check_proof, check_proofs, proof_type, require_room


def test_proof_types_by_magic_bytes():
    assert proof_type(b"\xff\xd8\xff\xe0rest") == ("jpg", "image/jpeg")
    assert proof_type(b"\x89PNG\r\n\x1a\nrest") == ("png", "image/png")
    assert proof_type(b"%PDF-1.7 rest") == ("pdf", "application/pdf")


def test_a_renamed_file_is_not_proof():
    assert proof_type(b"MZ\x90\x00 an exe called proof.pdf") is None
    assert proof_type(b"GIF89a") is None
    assert proof_type(b"") is None


def test_limit_is_two_megabytes():
    assert MAX_PROOF_BYTES == 2 * 1024 * 1024


def test_check_proof_reads_a_django_upload_and_names_the_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    proof = check_proof(SimpleUploadedFile("../../转学证明.exe", b"%PDF-1.4 body"))
    assert (proof.extension, proof.content_type) == ("pdf", "application/pdf")
    assert proof.original_name == "转学证明.exe"  # a label only: the stored name is generated
    assert proof.stored_name().endswith(".pdf") and "/" not in proof.stored_name()


def test_one_code_per_refusal_with_the_old_codes_as_aliases():
    with pytest.raises(ValidationFailed) as wrong:
        check_proofs([Upload("a.pdf", b"%PDF-1"), Upload("b.pdf", b"MZ not a pdf")])
    assert wrong.value.code == "proof_type" and wrong.value.field == "attachments[1]"
    assert wrong.value.as_dict()["aliases"] == ["attachment_type", "evidence_type"]
    with pytest.raises(ValidationFailed) as empty:
        check_proof(Upload("a.pdf", b""), field="evidence")
    assert empty.value.code == "proof_empty" and empty.value.field == "evidence"
    with pytest.raises(ValidationFailed) as big:
        check_proof(Upload("a.pdf", b"%PDF-" + b"0" * MAX_PROOF_BYTES))
    assert big.value.code == "proof_too_large"
    assert check_proof(Upload("a.pdf", b"%PDF-" + b"0" * (MAX_PROOF_BYTES - 5))).extension == "pdf"


def test_a_business_holds_at_most_ten_files():
    check_proofs([Upload(f"{i}.png", b"\x89PNG\r\n\x1a\n") for i in range(MAX_PROOF_FILES)])
    with pytest.raises(ValidationFailed) as many:
        check_proofs([Upload(f"{i}.png", b"\x89PNG\r\n\x1a\n") for i in range(MAX_PROOF_FILES + 1)])
    assert many.value.code == "too_many_proofs" and "too_many_attachments" in many.value.aliases
    require_room(already=MAX_PROOF_FILES - 1, adding=1)
    with pytest.raises(ValidationFailed):
        require_room(already=MAX_PROOF_FILES, adding=1)
