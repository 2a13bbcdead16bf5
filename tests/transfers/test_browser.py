"""The whole chain in a real browser: apply, submit, and three approvals, five logins."""

from __future__ import annotations

import pytest

from registry.models import Pupil

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("open_season")]


def _open_from_my_list(page, name: str) -> None:
    page.goto("/transfers/?tab=mine")
    page.get_by_role("link", name=name).click()


def test_full_chain_in_the_browser(world, page, browser_login):
    # 1. Destination operator: choose the origin school by keyword, find the pupil, fill in.
    browser_login(world["b1"].operator)
    page.goto("/transfers/new/")
    page.fill("[data-testid=school-keyword]", "天河第一")
    page.keyboard.press("Enter")
    page.click(f"[data-testid=choose-school-{world.school_a1.code}]")
    page.fill("[data-testid=lookup-name]", "李纳")  # a slip: nothing found, the causes are explained
    page.click("[data-testid=lookup]")
    assert "淞" in page.inner_text("[data-testid=lookup-none]")
    page.fill("[data-testid=lookup-name]", "李娜")
    page.click("[data-testid=lookup]")
    assert "2016-05-01" in page.inner_text("[data-testid=lookup-found]")
    page.fill("input[name=dest_grade]", "3")
    page.fill("input[name=dest_class_number]", "2")
    page.fill("textarea[name=reason]", "随父母工作调动")
    page.set_input_files("[data-testid=attachments]", files=[
        {"name": "证明.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
    ])
    page.click("[data-testid=save-apply]")
    page.wait_for_selector("[data-testid=state][data-state=draft]")
    assert page.locator("[data-testid=action-submit]").count() == 0  # two-person rule

    # 2. Destination approver submits (学校审核).
    browser_login(world["b1"].approver)
    _open_from_my_list(page, "李娜")
    page.click("[data-testid=action-submit]")
    page.wait_for_selector("[data-testid=state][data-state=dest_county]")

    # 3.–5. Destination county, origin school, origin county approve, each from its 待办.
    for unit, after in (("county_b", "origin_school"), ("a1", "origin_county"), ("county_a", "completed")):
        browser_login(world[unit].approver)
        assert page.inner_text("[data-testid=todo-total] .big") == "1"
        page.click("text=李娜")
        assert page.locator("[data-testid=progress] li.current").count() == 1
        page.click("[data-testid=action-approve]")
        page.wait_for_selector(f"[data-testid=state][data-state={after}]")

    assert "学校审核并上报" in page.inner_text("[data-testid=timeline]")
    pupil = Pupil.objects.get(pk=world.pupils["a1"].pk)
    assert pupil.school_id == world.school_b1.pk

    # The origin keeps a read-only copy of the record as it stood.
    browser_login(world["a1"].operator)
    page.goto("/transfers/?tab=all")
    page.get_by_role("link", name="李娜").click()
    page.click("[data-testid=snapshot-link]")
    assert world.school_a1.code in page.inner_text("[data-testid=snapshot]")


def test_refusal_in_the_browser_needs_a_reason(world, page, browser_login):
    from tests.transfers.chain import apply, submit

    transfer = apply(world)
    submit(world, transfer)
    browser_login(world["county_b"].approver)
    page.goto(f"/transfers/{transfer.pk}/")
    page.fill("[data-testid=refuse-reason]", "材料不全，请补充户籍证明")
    page.click("[data-testid=action-refuse]")
    page.wait_for_selector("[data-testid=state][data-state=refused]")
    assert "材料不全" in page.inner_text("[data-testid=timeline]")


def test_correct_after_send_back_in_the_browser(world, page, browser_login):
    from tests.transfers.chain import apply, submit
    from transfers import services

    transfer = apply(world)
    submit(world, transfer)
    services.transfer_send_back(user=world["county_b"].approver, transfer_id=transfer.pk, reason="班号应为3班")
    # The operator who filled it in finds it in 我的待办 with the reason, and corrects it.
    browser_login(world["b1"].operator)
    assert "班号应为3班" in page.inner_text("[data-testid=returned]")
    page.locator("[data-testid=returned]").get_by_role("link", name="修改", exact=True).click()
    assert "班号应为3班" in page.inner_text("[data-testid=sent-back]")
    page.click("[data-testid=action-resubmit]")
    assert page.input_value("input[name=dest_class_number]") == "2"
    page.fill("input[name=dest_class_number]", "120")
    page.click("[data-testid=save-correct]")
    assert page.locator("[data-testid=correct-form]").count() == 1  # refused, the form stays
    page.fill("input[name=dest_class_number]", "3")
    page.fill("input[name=note]", "已改为3班")
    page.click("[data-testid=save-correct]")
    page.wait_for_selector("[data-testid=state][data-state=draft]")
    assert "转入班号：2 → 3" in page.inner_text("[data-testid=timeline]")
    # The school's approver reviews it again.
    browser_login(world["b1"].approver)
    page.goto(f"/transfers/{transfer.pk}/")
    page.click("[data-testid=action-submit]")
    page.wait_for_selector("[data-testid=state][data-state=dest_county]")
