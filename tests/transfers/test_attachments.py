"""Proof material: JPG/PNG/PDF by bytes, ≤ 2 MB, generated storage names, parties only."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from kernel.errors import NotFound, ValidationFailed
from kernel.proof import Upload
from tests.transfers.chain import apply
from transfers import selectors, services

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_accepted_files_are_stored_under_a_generated_name(world):
    transfer = apply(world, attachments=[Upload("../../etc/转学证明.pdf", PDF), Upload("a.png", PNG),
                                         Upload("b.jpeg", JPG)])
    stored = list(transfer.attachments.all())
    assert [a.kind for a in stored] == ["pdf", "png", "jpg"]
    for a in stored:
        assert a.file.name.startswith(f"transfers/{transfer.pk}/") and "转学证明" not in a.file.name
        assert ".." not in a.file.name and default_storage.exists(a.file.name)


def test_type_is_judged_by_bytes_not_by_the_name(world):
    with pytest.raises(ValidationFailed) as exc:
        apply(world, attachments=[Upload("ok.pdf", PDF), Upload("证明.pdf", b"MZ\x90\x00 not a pdf")])
    assert exc.value.code == "proof_type" and exc.value.field == "attachments[1]"
    assert "证明.pdf" in str(exc.value.message)
    assert apply(world, attachments=[Upload("scan.bin", PNG)]).attachments.get().kind == "png"


def test_files_over_2_mb_are_refused(world):
    big = b"%PDF-" + b"0" * (2 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as exc:
        apply(world, attachments=[Upload("big.pdf", big)])
    assert exc.value.code == "proof_too_large"
    exactly = b"%PDF-" + b"0" * (2 * 1024 * 1024 - 5)
    assert apply(world, attachments=[Upload("max.pdf", exactly)]).attachments.count() == 1


def test_attachments_are_served_only_to_parties(world, login):
    transfer = apply(world, attachments=[Upload("p.pdf", PDF)])
    attachment = transfer.attachments.get()
    url = f"/transfers/{transfer.pk}/attachments/{attachment.pk}/"
    response = login(world["b1"].approver).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["X-Content-Type-Options"] == "nosniff"
    assert login(world["a1"].approver).get(url).status_code == 404  # not at its step yet
    assert login(world["b2"].approver).get(url).status_code == 404
    with pytest.raises(NotFound):
        selectors.attachment_get(world["county_a"].approver, transfer.pk, attachment.pk)


def test_attachments_can_be_added_while_open_by_the_destination(world):
    transfer = apply(world)
    added = services.transfer_attach(user=world["b1"].approver, transfer_id=transfer.pk,
                                     attachments=[Upload("x.jpg", JPG)])
    assert len(added) == 1
