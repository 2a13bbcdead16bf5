"""Proof material is judged by its bytes: the one rule every chain uses."""

from registry.uploads import MAX_PROOF_BYTES, proof_type


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
