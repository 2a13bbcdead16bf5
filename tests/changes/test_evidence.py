"""Evidence files: type by magic bytes, 2 MB cap, generated names, served only in scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from changes import requests
from changes.models import Evidence
from kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.changes.conftest import PDF, PNG, open_request

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def test_file_type_is_judged_by_bytes_not_name(world):
    request = open_request(world, "suspend", SUSPEND)
    with pytest.raises(ValidationFailed) as exc:
        requests.evidence_add(user=world["a1"].operator, request_id=request.pk,
                              upload=SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf"))
    assert exc.value.code == "proof_type" and "evidence_type" in exc.value.aliases
    item = requests.evidence_add(user=world["a1"].operator, request_id=request.pk,
                                 upload=SimpleUploadedFile("photo.exe", PNG))
    assert item.content_type == "image/png"
    assert item.stored_name.endswith(".png") and "photo" not in item.file.name


def test_files_over_two_megabytes_are_refused(world):
    request = open_request(world, "suspend", SUSPEND)
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (2 * 1024 * 1024))
    with pytest.raises(ValidationFailed) as exc:
        requests.evidence_add(user=world["a1"].operator, request_id=request.pk, upload=big)
    assert exc.value.code == "proof_too_large" and "evidence_too_large" in exc.value.aliases


def test_only_the_initiating_unit_adds_evidence(world):
    request = open_request(world, "suspend", SUSPEND)
    with pytest.raises(Forbidden):
        requests.evidence_add(user=world["county_a"].approver, request_id=request.pk,
                              upload=SimpleUploadedFile("a.pdf", PDF))
    with pytest.raises(NotFound):
        requests.evidence_add(user=world["b1"].operator, request_id=request.pk,
                              upload=SimpleUploadedFile("a.pdf", PDF))


def test_evidence_is_served_to_parties_in_scope_only(world, login):
    request = open_request(world, "suspend", SUSPEND)
    item = requests.evidence_add(user=world["a1"].operator, request_id=request.pk,
                                 upload=SimpleUploadedFile("证明.pdf", PDF))
    for user in (world["a1"].approver, world["county_a"].approver, world["province"].admin):
        response = login(user).get(f"/changes/evidence/{item.pk}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
    for user in (world["b1"].operator, world["county_b"].approver, world["other_province"].admin):
        response = login(user).get(f"/changes/evidence/{item.pk}/")
        assert response.status_code == 404
        assert PDF not in response.content
    assert Evidence.objects.count() == 1
