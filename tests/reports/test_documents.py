"""学籍表 and 在读证明: issued (audited, numbered), printable page and PDF (Chinese text read
back), class batch, tenancy, and the public verification page that reveals nothing else."""

from __future__ import annotations

import io
import time

import pypdf
import pytest
from django.core import signing

from reports import documents
from reports.models import IssuedDocument
from tests.factories import make_pupil

pytestmark = pytest.mark.django_db


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_school_issues_an_enrolment_certificate_and_it_is_recorded(world, login):
    pupil = world.pupils["a1"]
    client = login(world["a1"].operator)
    response = client.post("/documents/issue/", {"pupil": pupil.national_number, "kind": "enrolment"})
    assert response.status_code == 302
    document = IssuedDocument.objects.get()
    assert (document.kind, document.pupil, document.issued_by, document.unit_code, document.status) == (
        "enrolment", pupil, world["a1"].operator, world.school_a1.code, "enrolled")
    assert document.number.startswith("ZDZM") and document.request_id
    page = client.get(response["Location"]).content.decode()
    assert "在读证明" in page and "李娜" in page and "天河第一小学" in page and document.number in page
    assert "<svg" in page  # the QR code, drawn inline
    content = client.get(f"/documents/{document.number}/pdf/").content
    text = _pdf_text(content)
    assert "在读证明" in text and "李娜" in text and "天河第一小学" in text and document.number in text


def test_record_sheet_pdf_has_fields_family_and_history(world, login):
    from registry.history import record_event

    pupil = world.pupils["a1"]
    record_event(pupil, kind="note", summary="转入天河第一小学")
    client = login(world["county_a"].operator)
    client.post("/documents/issue/", {"pupil": pupil.national_number, "kind": "record"})
    document = IssuedDocument.objects.get()
    text = _pdf_text(client.get(f"/documents/{document.number}/pdf/").content)
    for expected in ("学生学籍信息表", "李娜", pupil.national_number, "张父", "家庭成员或监护人信息", "转入天河第一小学"):
        assert expected in text, expected


def test_record_sheet_follows_the_national_forms_sections_and_field_order(world, login):
    """学生基本信息表: the school's line, 一 基础信息 (with the photo box), 二 学籍基本信息,
    三 扩展信息, 四 家庭成员或监护人信息, 五 学籍变动, the signatures, then the QR code."""
    pupil = world.pupils["a1"]
    client = login(world["a1"].operator)
    client.post("/documents/issue/", {"pupil": pupil.national_number, "kind": "record"})
    document = IssuedDocument.objects.get()
    content = client.get(f"/documents/{document.number}/pdf/").content
    text = _pdf_text(content).replace("\n", "")  # a long label wraps inside its box
    order = ["学生学籍信息表", "学校名称", "天河第一小学", "学校标识码", world.school_a1.code,
             "一、学生个人基础信息", "姓名", "李娜", "性别", "出生日期", "民族", "国籍/地区", "身份证件类型",
             "身份证件号", "港澳台侨外", "健康状况", "曾用名", "户口所在地", "户口性质",
             "二、学生学籍基本信息", "全国学籍号", pupil.national_number, "学籍状态", "年级", "班级", "入学年月", "就读方式",
             "三、学生个人扩展信息", "是否留守儿童", "是否进城务工人员随迁子女",
             "四、学生家庭成员或监护人信息", "关系", "户口所在地", "联系电话", "是否监护人", "身份证件类型", "身份证件号",
             "五、学籍变动记录", "学生（家长）签字", "班主任", "学校审核（盖章）", document.number]
    at = 0
    for expected in order:
        found = text.find(expected, at)
        assert found >= 0, (expected, text[at:at + 200])
        at = found + len(expected)
    page = pypdf.PdfReader(io.BytesIO(content)).pages[0]
    assert "（无照片）" in text  # the photo box is there, empty
    assert len(pypdf.PdfReader(io.BytesIO(content)).pages) == 1 and page.mediabox.width < 600  # one A4 page
    html = client.get(f"/documents/{document.number}/").content.decode()
    assert html.count('data-testid="record-section"') == 3 and "四、学生家庭成员或监护人信息" in html
    assert "<svg" in html  # the QR code stays


def test_only_the_pupils_school_issues_an_enrolment_certificate(world, login):
    pupil = world.pupils["a1"]
    response = login(world["county_a"].operator).post("/documents/issue/", {"pupil": pupil.national_number,
                                                                             "kind": "enrolment"})
    assert response.status_code == 403
    response = login(world["a2"].operator).post("/documents/issue/", {"pupil": pupil.national_number,
                                                                       "kind": "record"})
    assert response.status_code == 404  # another school's pupil
    assert not IssuedDocument.objects.exists()


def test_no_certificate_for_a_pupil_not_enrolled(world):
    pupil = make_pupil(world.school_a1, name="休学生", status="suspended")
    from kernel.errors import BusinessRefused

    with pytest.raises(BusinessRefused) as refused:
        documents.document_issue(user=world["a1"].operator, national_number=pupil.national_number, kind="enrolment")
    assert refused.value.code == "pupil_not_enrolled"


def test_bad_kind_is_refused(world, login):
    response = login(world["a1"].operator).post("/documents/issue/", {"pupil": world.pupils["a1"].national_number,
                                                                       "kind": "diploma"})
    assert response.status_code == 422
    assert 'data-code="document_kind_invalid"' in response.content.decode()


def test_issued_document_of_another_school_is_not_found(world, login):
    document = documents.document_issue(user=world["a1"].operator, national_number=world.pupils["a1"].national_number,
                                        kind="record")
    for user in (world["b1"].operator, world["county_b"].operator, world["a2"].operator):
        client = login(user)
        assert client.get(f"/documents/{document.number}/").status_code == 404
        assert client.get(f"/documents/{document.number}/pdf/").status_code == 404


def test_issuing_is_post_only(world, login):
    client = login(world["a1"].operator)
    assert client.get("/documents/issue/", {"pupil": world.pupils["a1"].national_number,
                                            "kind": "record"}).status_code == 405
    assert not IssuedDocument.objects.exists()


def test_public_verification_shows_only_masked_name_school_status_date(world, client):
    document = documents.document_issue(user=world["a1"].operator, national_number=world.pupils["a1"].national_number,
                                        kind="enrolment")
    code = documents.verification_code(document)
    page = client.get(f"/documents/verify/{code}/").content.decode()
    assert "李*" in page and "天河第一小学" in page and "在读" in page and document.number in page
    pupil = world.pupils["a1"]
    for secret in ("李娜", pupil.national_number, pupil.id_number, "张父", "2016-05-01"):
        assert secret not in page, secret


def test_forged_or_altered_codes_are_refused(world, client):
    document = documents.document_issue(user=world["a1"].operator, national_number=world.pupils["a1"].national_number,
                                        kind="record")
    code = documents.verification_code(document)
    forged = signing.dumps(document.pk, salt="another.salt", compress=True)
    for bad in (code[:-2] + ("AA" if code[-2:] != "AA" else "BB"), forged, "nothing", str(document.pk)):
        response = client.get(f"/documents/verify/{bad}/")
        assert response.status_code == 404
        assert 'data-code="document_unknown"' in response.content.decode()


def test_class_batch_of_record_sheets_is_one_pdf_within_ten_seconds(world, login):
    for n in range(49):
        make_pupil(world.school_a1, name=f"学生{n:02d}", grade=3, class_number=1)
    class_id = world.pupils["a1"].school_class_id
    client = login(world["a1"].operator)
    started = time.perf_counter()
    response = client.post("/documents/batch/", {"class": class_id})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 50
    assert IssuedDocument.objects.filter(kind="record").count() == 50
    assert elapsed < 10, elapsed
    assert login(world["b1"].operator).post("/documents/batch/", {"class": class_id}).status_code == 404


def test_the_qr_code_reads_back_as_the_verification_url(world, login, tmp_path):
    import shutil
    import subprocess

    if not (shutil.which("pdftoppm") and shutil.which("zbarimg")):
        pytest.skip("pdftoppm and zbarimg (poppler-utils, zbar-tools) are not installed")
    document = documents.document_issue(user=world["a1"].operator, national_number=world.pupils["a1"].national_number,
                                        kind="enrolment")
    client = login(world["a1"].operator)
    (tmp_path / "d.pdf").write_bytes(client.get(f"/documents/{document.number}/pdf/").content)
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(tmp_path / "d.pdf"), str(tmp_path / "p")], check=True)
    found = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "p-1.png")], capture_output=True, text=True)
    url = found.stdout.strip()
    assert url.startswith("http://testserver/documents/verify/")
    page = client.get(url.removeprefix("http://testserver")).content.decode()
    assert document.number in page and "李*" in page


def test_a_school_the_pupil_left_no_longer_sees_its_documents(world, login):
    pupil = world.pupils["a1"]
    document = documents.document_issue(user=world["a1"].operator, national_number=pupil.national_number,
                                        kind="record")
    from registry.models import Pupil

    Pupil.objects.filter(pk=pupil.pk).update(school=world.school_a2)  # moved (as a completed transfer does)
    assert login(world["a1"].operator).get(f"/documents/{document.number}/pdf/").status_code == 404
    assert login(world["county_a"].operator).get(f"/documents/{document.number}/pdf/").status_code == 200


def test_class_page_offers_the_batch(world, login):
    class_id = world.pupils["a1"].school_class_id
    page = login(world["a1"].operator).get("/statistics/", {"unit": f"c:{class_id}"}).content.decode()
    assert 'data-testid="batch-records"' in page
