"""The pupil page shows every coded field by its name, never the bare code."""

from __future__ import annotations


def test_pupil_page_shows_names_not_codes(world, login):
    pupil = world.pupils["a1"]
    page = login(world["a1"].operator).get(f"/pupils/{pupil.national_number}/").content.decode()
    assert "居民身份证" in page  # id_type 1
    assert "汉族" in page  # ethnicity 01
    assert "父亲" in page  # relation 51
    for label in ("民族", "户口性质", "健康状况", "就读方式", "是否留守儿童", "是否随迁子女", "联系电话"):
        assert label in page
    audit = page[page.index("字段级审计记录"):]
    assert "新增" in audit and ">insert<" not in audit
