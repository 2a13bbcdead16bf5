"""学籍表 and 在读证明: issued (audited, numbered), printable page and PDF (Chinese text read
back), class batch, tenancy, and the public verification page that reveals nothing else."""

from __future__ import annotations

import io
import time

import pypdf
import pytest
from django.contrib.auth import get_user_model
from django.core import signing

from registry.models import Pupil
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
             "二、学生学籍基本信息", "全国学籍号", pupil.national_number, "学籍状态", "年级", "班级", "班内学号",
             "入学年月", "入学方式", "就读方式", "学生来源",
             "三、学生个人联系信息", "现住址", "通信地址", "家庭住址", "联系电话", "邮政编码",
             "四、学生个人扩展信息", "是否独生子女", "是否受过学前教育", "是否留守儿童", "是否进城务工人员随迁子女",
             "是否孤儿", "是否烈士或优抚子女", "残疾人类型", "是否需要申请资助", "是否享受一补",
             "五、学生上下学交通方式", "上下学距离", "上下学方式", "是否需要乘坐校车",
             "六、学生家庭成员或监护人信息", "关系", "关系说明", "民族", "工作单位", "现住址", "户口所在地", "联系电话",
             "是否监护人", "身份证件类型", "身份证件号", "职务", "状况", "第一监护人", "公安机关证明编号",
             "七、学籍变动记录", "学生（家长）签字", "班主任", "学校审核（盖章）", document.number]
    at = 0
    for expected in order:
        found = text.find(expected, at)
        assert found >= 0, (expected, text[at:at + 200])
        at = found + len(expected)
    page = pypdf.PdfReader(io.BytesIO(content)).pages[0]
    assert "（无照片）" in text  # the photo box is there, empty
    assert len(pypdf.PdfReader(io.BytesIO(content)).pages) == 1 and page.mediabox.width < 600  # one A4 page
    html = client.get(f"/documents/{document.number}/").content.decode()
    assert html.count('data-testid="record-section"') == 5 and "六、学生家庭成员或监护人信息" in html
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


#: A record with every further field filled (values in words as the sheet shows them).
FULL_RECORD = dict(
    birthplace="440106", native_place="440105", political_status="03", id_valid_until="2030-01-01",
    specialty="书法、围棋", class_seat="07", enrolment_mode="11", current_address="广州市天河区天河路1号",
    postal_address="广州市天河区体育西路2号", home_address="广州市海珠区江南大道3号", phone="020-12345678",
    postcode="510630", only_child="1", preschool="1", orphan="0", martyr_child="0", needs_aid="1",
    one_subsidy="1", disability="4", commute_distance="2.5", commute_mode="3", school_bus="1")
FULL_RECORD_SHOWN = ("广东省广州市天河区", "广东省广州市海珠区", "共青团员", "2030-01-01", "书法、围棋", "就近入学",
                     "广州市天河区天河路1号", "广州市天河区体育西路2号", "广州市海珠区江南大道3号", "020-12345678",
                     "510630", "肢体残疾", "2.5 km", "家长自行接送", "外省转入")
FULL_MEMBER = dict(relation_note="生父", ethnicity="01", employer="广州市第一建筑公司", address="广州市天河区天河路9号",
                   job_title="工程师", phone="13800138000", vital="deceased", police_reference="穗公证字2020第88号",
                   police_date="2020-05-06")
FULL_MEMBER_SHOWN = ("生父", "汉族", "广州市第一建筑公司", "广州市天河区天河路9号", "工程师", "13800138000", "死亡",
                     "穗公证字2020第88号", "2020-05-06", "父亲")


def _fill_record(pupil, *, members: int = 4) -> None:
    """Every further field of the pupil and of up to four family members, and 学生来源."""
    from enrolment.models import Registration, RegistrationState
    from provinces.models import Division
    from registry.models import Guardian

    Pupil.objects.filter(pk=pupil.pk).update(**FULL_RECORD, hukou_nature="2", hukou_division="440106",
                                             former_name="李小娜")
    pupil.guardians.update(**FULL_MEMBER, hukou_division=Division.objects.get(pk="440106"))
    for n in range(members - 1):
        Guardian.objects.create(pupil=pupil, name=f"成员{n}", relation="52", order=n + 2, employer="某单位有限公司",
                                address="广州市天河区天河路9号", phone="13900139000", relation_note="生母")
    Registration.objects.create(pupil=pupil, state=RegistrationState.APPROVED, school_id=pupil.school_id,
                                county_code=pupil.county_code, grade=pupil.grade, source="other_province",
                                initiator=get_user_model().objects.first())


def test_record_sheet_shows_every_field_of_the_record_in_words(world, login):
    """Every further field of the record and of a family member: its label, and its value as
    the pupil's page shows it (a code by its name), on one page."""
    from registry import fields

    pupil = world.pupils["a1"]
    _fill_record(pupil)
    client = login(world["a1"].operator)
    client.post("/documents/issue/", {"pupil": pupil.national_number, "kind": "record"})
    document = IssuedDocument.objects.get()
    content = client.get(f"/documents/{document.number}/pdf/").content
    text = _pdf_text(content).replace("\n", "").replace(" ", "")
    for spec in fields.PUPIL_FIELDS + fields.GUARDIAN_FIELDS:
        assert spec.label.replace("（公里）", "") in text, spec.label
    for label in ("学生来源", "状况", "公安机关证明编号", "公安机关证明日期", "第一监护人", "户口所在地"):
        assert label in text, label
    for value in FULL_RECORD_SHOWN + FULL_MEMBER_SHOWN:
        assert value.replace(" ", "") in text, value
    assert "成员2" in text  # four members, one column each
    assert len(pypdf.PdfReader(io.BytesIO(content)).pages) == 1
    sheet = documents.record_sheet(document)
    labels = {str(label) for label, _value in sheet.fields}
    assert {str(spec.verbose_name) for spec in fields.PUPIL_FIELDS} <= labels  # no further field left out
    html = client.get(f"/documents/{document.number}/").content.decode()
    assert "就近入学" in html and "穗公证字2020第88号" in html


def test_an_empty_field_is_a_blank_box_not_a_code(world):
    pupil = world.pupils["a1"]
    document = documents.document_issue(user=world["a1"].operator, national_number=pupil.national_number,
                                        kind="record")
    values = dict((str(label), value) for label, value in documents.record_sheet(document).fields)
    assert values["特长"] == "" and values["上下学方式"] == "" and values["通信地址"] == ""
    assert values["学生来源"] == "" and values["上下学距离（公里）"] == ""
    assert values["政治面貌"] == "群众" and values["是否独生子女"] == "否" and values["残疾人类型"] == "无残疾"


def test_class_batch_of_record_sheets_is_one_pdf_within_ten_seconds(world, login):
    _fill_record(world.pupils["a1"], members=2)
    for n in range(49):
        _fill_record(make_pupil(world.school_a1, name=f"学生{n:02d}", grade=3, class_number=1), members=2)
    class_id = world.pupils["a1"].school_class_id
    client = login(world["a1"].operator)
    started = time.perf_counter()
    response = client.post("/documents/batch/", {"class": class_id})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 50  # one page a pupil, every field filled
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
