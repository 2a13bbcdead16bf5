"""Screenshots of the main pages for the docs, at a phone's width (390 px) and a laptop's (1366 px).

    python devtools/screenshots.py BASE_URL USERNAME PASSWORD [--name NAME] [--out docs/screenshots]

It logs into a running registry as USERNAME (a school operator, a county approver …), opens
the main pages that user has (首页, the pupil list and the first pupil's page, 转学, 学籍异动,
新生注册审核, 问题学籍, 统计; a page the role cannot open is skipped) and saves one PNG per page and
width as ``<name>-<page>-<width>.png`` (viewport-high, so the files stay small). Each page is
also checked for horizontal overflow, which is printed. Needs Playwright and a chromium
(``/usr/bin/chromium`` or ``CHROMIUM_PATH``), launched as the browser tests launch it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

#: (page name, path): the main pages; ``{pupil}`` is the first pupil of the list.
PAGES = (
    ("home", "/"),
    ("pupils", "/pupils/"),
    ("pupil", "/pupils/{pupil}/"),
    ("transfers", "/transfers/?tab=all"),
    ("changes", "/changes/"),
    ("registrations", "/registrations/"),
    ("cases", "/province/cases/"),
    ("statistics", "/statistics/"),
)
WIDTHS = (390, 1366)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and os.path.exists(candidate):
            return candidate
    found = shutil.which("chromium")
    if not found:
        sys.exit("no chromium found (set CHROMIUM_PATH)")
    return found


def shoot(base_url: str, username: str, password: str, *, name: str, out: Path, pages=PAGES) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        for width in WIDTHS:
            context = browser.new_context(locale="zh-CN", base_url=base_url.rstrip("/"),
                                          viewport={"width": width, "height": 844 if width < 800 else 900})
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto("/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/login/" in page.url:
                sys.exit(f"login as {username} failed")
            pupil = ""
            for key, path in pages:
                if "{pupil}" in path:
                    if not pupil:
                        continue
                    path = path.format(pupil=pupil)
                response = page.goto(path)
                if response is None or response.status >= 400:
                    print(f"skip {key} ({response.status if response else 'no answer'})")
                    continue
                page.wait_for_load_state("networkidle")
                if key == "pupils" and not pupil:
                    link = page.locator("table tbody a[href^='/pupils/']").first
                    href = link.get_attribute("href") if link.count() else ""
                    match = re.match(r"^/pupils/([^/]+)/$", href or "")
                    pupil = match.group(1) if match and match.group(1) != "new" else ""
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    print(f"{key} at {width}px: {overflow}px wider than the screen")
                target = out / f"{name}-{key}-{width}.png"
                page.screenshot(path=str(target))
                saved.append(target)
                print(target)
            context.close()
        browser.close()
    return saved


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("--name", default="", help="the files' prefix (default: the username's role part)")
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    args = parser.parse_args(argv)
    pages = [p for p in PAGES if not args.pages or p[0] in args.pages.split(",")]
    name = args.name or args.username.replace(".", "-")
    shoot(args.base_url, args.username, args.password, name=name, out=Path(args.out), pages=pages)


if __name__ == "__main__":
    main()
