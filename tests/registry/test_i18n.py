"""zh-hans by default, English available on every page, and the English catalogue complete."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def _entries():
    """(msgid, [msgstr…]) pairs of the English catalogue, header excluded."""
    text = CATALOGUE.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""' in block:
            continue
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            yield fields["msgid"], [v for k, v in fields.items() if k.startswith("msgstr")], "#, fuzzy" in block


def test_default_language_is_simplified_chinese(world, login):
    page = login(world["a1"].operator).get("/")
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "首页" in page.content.decode()


def test_english_is_available_and_used(world, login):
    client = login(world["a1"].operator)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    with translation.override("en"):
        home = translation.gettext("首页")
    assert home != "首页" and home in page


def test_every_string_has_an_english_translation_with_the_same_placeholders():
    missing, broken = [], []
    for msgid, msgstrs, fuzzy in _entries():
        if fuzzy or not all(msgstrs):
            missing.append(msgid)
            continue
        for msgstr in msgstrs:
            if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr)):
                broken.append((msgid, msgstr))
    assert not missing, f"{len(missing)} untranslated, e.g. {missing[:5]}"
    assert not broken, broken[:5]
