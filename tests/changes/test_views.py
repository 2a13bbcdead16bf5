"""Pages: list, new request per kind, detail with actions, 控辍保学, graduation, promotion."""

from __future__ import annotations

import datetime as dt

import pytest

from changes.models import ChangeRequest
from tests.changes.conftest import GRADUATION_YEAR, approve_both, open_request

SUSPEND = {"start": "2026-11-23", "until": "2027-06-30"}


def test_list_shows_requests_in_scope_only(world, login):
    request = open_request(world, "suspend", SUSPEND)
    name = world.pupils["a1"].name
    assert name in login(world["county_a"].approver).get("/changes/").content.decode()
    for user in (world["b1"].operator, world["county_b"].approver, world["other_province"].admin):
        page = login(user).get("/changes/").content.decode()
        assert name not in page
        assert login(user).get(f"/changes/{request.pk}/").status_code == 404


def test_new_request_form_per_kind_and_submit(world, login):
    client = login(world["a1"].operator)
    number = world.pupils["a1"].national_number
    page = client.get(f"/changes/new/?pupil={number}").content.decode()
    assert "休学" in page and "关键信息变更" in page
    page = client.get(f"/changes/new/?pupil={number}&kind=suspend").content.decode()
    assert 'name="start"' in page and 'name="until"' in page
    response = client.post(f"/changes/new/?pupil={number}&kind=suspend",
                           {"start": "2026-11-23", "until": "2027-06-30", "reason": "病休"})
    request = ChangeRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/changes/{request.pk}/"
    assert request.state == "school_review" and request.reason == "病休"


def test_withdrawal_is_offered_and_its_form_asks_for_date_and_reason(world, senior, login):
    from tests.factories import make_pupil

    pupil = make_pupil(senior, name="高二学生", grade=11, birth_date=dt.date(2009, 4, 1))
    client = login(world["senior"].operator)
    assert "退学" in client.get(f"/changes/new/?pupil={pupil.national_number}").content.decode()
    url = f"/changes/new/?pupil={pupil.national_number}&kind=withdrawal"
    page = client.get(url).content.decode()
    assert 'name="date"' in page and "退学原因" in page and "义务教育阶段" in page
    client.post(url, {"date": "2026-11-20"})
    assert not ChangeRequest.objects.exists()  # the reason is required on the form too
    response = client.post(url, {"date": "2026-11-20", "reason": "出国留学"})
    request = ChangeRequest.objects.get()
    assert response.status_code == 302 and (request.kind, request.reason) == ("withdrawal", "出国留学")


def test_withdrawal_of_a_compulsory_pupil_is_refused_on_the_page(world, login):
    number = world.pupils["a1"].national_number
    page = login(world["a1"].operator).post(f"/changes/new/?pupil={number}&kind=withdrawal",
                                            {"date": "2026-11-20", "reason": "本人申请"}).content.decode()
    assert 'data-code="withdrawal_compulsory"' in page and "义务教育阶段" in page


def test_refusal_is_shown_with_its_message_on_the_form(world, login):
    client = login(world["a1"].operator)
    number = world.pupils["a1"].national_number
    response = client.post(f"/changes/new/?pupil={number}&kind=suspend", {"start": "2026-11-23", "until": "2028-06-30"})
    page = response.content.decode()
    assert 'data-code="suspension_too_long"' in page and "休学期限不得超过一年" in page
    assert not ChangeRequest.objects.exists()


def test_key_change_form_sends_only_changed_fields(world, login):
    client = login(world["a1"].operator)
    pupil = world.pupils["a1"]
    data = {"name": "李娜娜", "sex": pupil.sex, "birth_date": pupil.birth_date.isoformat(), "id_type": pupil.id_type,
            "id_number": pupil.id_number, "grade": pupil.grade, "class_number": 1}
    client.post(f"/changes/new/?pupil={pupil.national_number}&kind=key_change", data)
    assert ChangeRequest.objects.get().payload == {"name": "李娜娜"}


def test_new_request_for_a_pupil_out_of_scope_is_404(world, login):
    number = world.pupils["b1"].national_number
    assert login(world["a1"].operator).get(f"/changes/new/?pupil={number}&kind=suspend").status_code == 404


def test_detail_offers_the_actions_of_the_step(world, login):
    request = open_request(world, "suspend", SUSPEND)
    assert 'data-testid="approve"' in login(world["a1"].approver).get(f"/changes/{request.pk}/").content.decode()
    page = login(world["county_a"].approver).get(f"/changes/{request.pk}/").content.decode()
    assert 'data-testid="approve"' not in page and "待学校审核" in page
    page = login(world["a1"].operator).get(f"/changes/{request.pk}/").content.decode()
    assert 'data-testid="withdraw"' in page and 'data-testid="approve"' not in page


def test_action_errors_come_back_as_messages(world, login):
    request = open_request(world, "suspend", SUSPEND)
    client = login(world["a1"].approver)
    client.post(f"/changes/{request.pk}/approve/")
    page = client.post(f"/changes/{request.pk}/approve/", follow=True).content.decode()
    assert "state_conflict" in page


def test_work_items_appear_on_the_home_page_of_the_acting_unit(world, login):
    open_request(world, "suspend", SUSPEND)
    assert "学籍异动（休学）" in login(world["a1"].approver).get("/").content.decode()
    assert "学籍异动（休学）" not in login(world["b1"].approver).get("/").content.decode()


def test_dropout_page_is_the_countys(world, login):
    approve_both(world, open_request(world, "drop_out", {"date": "2026-11-20"}))
    assert world.pupils["a1"].name in login(world["county_a"].approver).get("/changes/dropouts/").content.decode()
    assert world.pupils["a1"].name not in login(world["county_b"].approver).get("/changes/dropouts/").content.decode()


def test_graduation_pages(world, graduation_season, login):
    from tests.factories import make_pupil

    make_pupil(world.school_a1, name="毕业生甲", grade=6)
    client = login(world["a1"].operator)
    response = client.post("/changes/graduations/", {"school_year": GRADUATION_YEAR})
    assert response.status_code == 302
    assert "毕业生甲" in client.get(response.url).content.decode()
    assert login(world["county_b"].approver).get(response.url).status_code == 404


def test_the_graduating_approval_shows_the_count_and_asks(world, graduation_season, login):
    from changes import graduations
    from changes.models import GraduationList
    from tests.factories import make_pupil

    make_pupil(world.school_a1, name="毕业生甲", grade=6)
    make_pupil(world.school_a1, name="毕业生乙", grade=6)
    client = login(world["a1"].operator)
    client.post("/changes/graduations/", {"school_year": GRADUATION_YEAR})
    graduation = GraduationList.objects.get()
    page = login(world["a1"].approver).get(f"/changes/graduations/{graduation.pk}/").content.decode()
    assert "名单共 2 名学生" in page and 'data-testid="graduation-warning"' not in page  # the school's step
    graduations.graduation_approve(user=world["a1"].approver, graduation_id=graduation.pk)
    page = login(world["county_a"].approver).get(f"/changes/graduations/{graduation.pk}/").content.decode()
    assert 'data-testid="graduation-warning"' in page and "2 名学生将办理毕业" in page
    assert "data-confirm=" in page and 'class="danger" data-testid="approve"' in page


def test_promotion_page_and_progress_json(world, login):
    client = login(world["province"].admin)
    response = client.post("/changes/promotion/", {"school_year": 2026, "confirm": "yes"})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert 'data-testid="promotion-progress"' in page
    from changes.models import PromotionRun

    run = PromotionRun.objects.get()
    progress = client.get(f"/changes/promotion/{run.pk}/progress.json").json()
    assert progress["total"] == 4
    assert login(world["other_province"].admin).get(f"/changes/promotion/{run.pk}/progress.json").status_code == 404


def test_the_approver_reads_the_change_as_labelled_fields_old_to_new(world, login):
    """The page the approver decides from: 姓名 李娜 → 李娜娜 and 性别 by name, never
    ``name=李娜娜`` or a code."""
    request = open_request(world, "key_change", {"name": "李娜娜"})
    page = login(world["a1"].approver).get(f"/changes/{request.pk}/").content.decode()
    payload = page[page.index('data-testid="payload"'):]
    payload = payload[:payload.index("</dl>")]
    assert "姓名" in payload and "李娜" in payload and "→" in payload and "<strong>李娜娜</strong>" in payload
    assert "name=" not in payload
    approve_both(world, request)
    page = login(world["a1"].approver).get(f"/changes/{request.pk}/").content.decode()
    assert "李娜</span> → <strong>李娜娜</strong>" in page  # the value it replaced, once applied


def test_suspension_dates_are_labelled(world, login):
    request = open_request(world, "suspend", SUSPEND)
    page = login(world["a1"].approver).get(f"/changes/{request.pk}/").content.decode()
    assert "开始日期" in page and "截止日期" in page and "start=" not in page


def test_coded_payload_values_are_shown_by_name(world):
    from changes.selectors import _shown

    assert (_shown("sex", "2"), _shown("id_type", "1"), _shown("grade", 4)) == ("女", "居民身份证", "4")


def test_promotion_previews_counts_per_grade_and_asks_before_it_starts(world, login):
    from changes.models import PromotionRun
    from tests.factories import make_pupil

    make_pupil(world.school_a1, name="六年级生", grade=6)
    client = login(world["province"].admin)
    # Without the confirmation a POST starts nothing: back to the preview.
    response = client.post("/changes/promotion/", {"school_year": 2026})
    assert response.status_code == 302 and "school_year=2026" in response.url
    assert not PromotionRun.objects.exists()
    page = client.get(response.url).content.decode()
    assert 'data-testid="promotion-preview"' in page and "data-confirm=" in page
    assert 'name="confirm" value="yes"' in page and 'class="danger"' in page
    # The province's two grade-3 pupils move up; the 六年级 pupil of a 小学 stays for graduation.
    assert '<tr data-grade="3"><td>三年级 → 四年级</td><td class="num" data-testid="moving">2</td>' in page
    assert '<tr data-grade="6"><td>六年级</td><td class="num" data-testid="moving">0</td><td class="num">1</td>' in page
    assert not PromotionRun.objects.exists()  # GET never writes


def test_a_second_promotion_is_refused_while_one_runs(world, login):
    from changes import promotions
    from kernel.errors import Conflict

    admin = world["province"].admin
    run = promotions.promotion_start(user=admin, school_year=2026, today=dt.date(2026, 9, 1))
    assert run.status == "running"
    with pytest.raises(Conflict) as exc:
        promotions.promotion_start(user=admin, school_year=2026, today=dt.date(2026, 9, 1))
    assert exc.value.code == "promotion_running"
    page = login(admin).get("/changes/promotion/?school_year=2026").content.decode()
    assert 'data-testid="promotion-running"' in page and 'data-testid="start-promotion"' not in page
    response = login(admin).post("/changes/promotion/", {"school_year": 2026, "confirm": "yes"})
    assert response.status_code == 200 and "promotion_running" in response.content.decode()
