"""The everyday names registrars type for codes (同义词), one table per code table.

``codes.resolve`` takes a code, its standard name, or one of these: 是否 columns take
是/否/Y/N/1/0, 户口性质 ``非农业`` reads as 非农业户口, 是否留守儿童 ``否`` as 非留守儿童, a
民族 without its 族 (``汉``, ``蒙古``) as that 民族. A value read through a synonym is
reported (``codes.synonyms_used``), so a roster's report says what each was read as. A
synonym never makes a value ambiguous: 是 in 是否留守儿童 (单亲 or 双亲?) stays refused.
"""

from __future__ import annotations

#: Spellings of yes and no, compared upper-cased.
YES = ("是", "Y", "YES", "TRUE", "T", "√", "1")
NO = ("否", "N", "NO", "FALSE", "F", "×", "0")


def _yes_no(yes: str, no: str) -> dict[str, str]:
    return {**dict.fromkeys(YES, yes), **dict.fromkeys(NO, no)}


#: ``{table: {synonym: code}}``; keys are compared after stripping and upper-casing.
SYNONYMS: dict[str, dict[str, str]] = {
    "yes_no": _yes_no("1", "0"),
    "migrant": {**_yes_no("1", "0"), "随迁": "1", "随迁子女": "1", "非随迁": "0", "非随迁子女": "0"},
    "left_behind": {**dict.fromkeys(NO, "0"), "非留守": "0", "单亲留守": "1", "双亲留守": "2"},
    "hmt": {**dict.fromkeys(NO, "00")},
    "sex": {"男性": "1", "女性": "2", "M": "1", "F": "2"},
    "hukou_nature": {"农业": "1", "农村": "1", "农村户口": "1", "非农业": "2", "非农": "2", "城镇": "2",
                     "城镇户口": "2"},
    "boarding": {"走读生": "1", "通校": "1", "住读": "2", "住宿": "2", "寄宿": "2", "住校生": "2"},
    "health": {"健康": "10", "良好": "10", "一般": "20", "较弱": "20", "慢性病": "30", "生理缺陷": "40"},
    "id_type": {"身份证": "1", "二代身份证": "1", "户口本": "B", "港澳居民来往内地通行证": "6", "台胞证": "8",
                "无": "Z", "无证件": "Z"},
    "nationality": {"中国": "CHN", "中华人民共和国": "CHN"},
    "relation": {"父": "51", "爸爸": "51", "母": "52", "妈妈": "52", "继父": "53", "养父": "53", "继母": "54",
                 "养母": "54", "爷爷": "61", "奶奶": "62", "外公": "63", "姥爷": "63", "外婆": "64", "姥姥": "64",
                 "哥哥": "71", "姐姐": "73"},
    "political_status": {"团员": "03", "党员": "01"},
    "enrolment_mode": {"就近": "11", "相对就近入学": "11", "划片入学": "11", "统招": "21", "统一招生考试": "21",
                       "普通入学": "21", "中考": "21", "体育特长生": "22", "艺术特长生": "23"},
    "disability": {**dict.fromkeys(NO, "0"), "无": "0"},
    "commute_mode": {"走路": "0", "自行车": "1", "电动车": "1", "公交": "2", "公共交通": "2", "地铁": "2",
                     "家长接送": "3", "接送": "3"},
}


def synonym_code(table: str, text: str, names: dict[str, str]) -> str | None:
    """The code ``text`` stands for in ``table`` as a synonym, or ``None``. ``names`` is the
    table (``{code: name}``): a 民族 is also its name without 族."""
    folded = text.strip().upper()
    code = SYNONYMS.get(table, {}).get(folded)
    if code is not None and code in names:
        return code
    if table == "ethnicity" and folded and not folded.endswith("族"):
        return next((c for c, name in names.items() if name == folded + "族"), None)
    return None
