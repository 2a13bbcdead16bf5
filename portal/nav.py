"""The navigation bar: every app's pages by URL name, shown when the user may use them."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import can_register, can_search_audit, membership_of
from accounts.services import can_manage_accounts
from exchange.services import is_exchange_staff

#: (url name, label, levels that see it; None = everyone with a unit). ``ONLY_IF`` narrows an
#: entry to the users the service would accept, so no one is offered a form only to be refused.
NAV = [
    ("home", _("首页"), None),
    ("pupil_list", _("学生学籍"), None),
    ("pupil_register", _("新生注册"), {"school"}),
    ("registration_list", _("注册审核"), None),
    ("transfers:list", _("转学"), None),
    ("changes:list", _("学籍异动"), None),
    ("changes:graduations", _("毕业"), None),
    ("progression_find", _("升学接收"), None),
    ("changes:dropouts", _("控辍保学"), {"county", "city", "province"}),
    ("changes:promotion", _("升级"), {"province"}),
    ("rosters:roster_import", _("花名册"), None),
    ("rosters:admission_upload", _("招生名单"), {"school", "county"}),
    ("photos:photo_upload", _("照片"), {"school"}),
    ("duplicates:cases", _("问题学籍"), {"county", "city", "province"}),
    ("duplicates:sweeps", _("查重"), {"province"}),
    ("overdue", _("超期报告"), {"county", "city", "province"}),
    ("reports:statistics", _("统计"), None),
    ("administration:policy", _("省级政策"), {"province"}),
    ("exchange:messages", _("省际交换"), {"province"}),
    ("accounts:list", _("账号管理"), {"county", "city", "province"}),
    ("audit", _("审计"), None),
]

#: Entries shown only to the users the service would accept, so no one is offered a form
#: only to be refused.
ONLY_IF = {
    "pupil_register": can_register,
    "accounts:list": can_manage_accounts,
    "audit": can_search_audit,
    "exchange:messages": is_exchange_staff,
}


def navigation(request) -> dict:
    membership = membership_of(getattr(request, "user", None))
    if membership is None:
        return {"nav": [], "membership": None}
    level = membership.level
    items = []
    for name, label, levels in NAV:
        if levels is not None and level not in levels:
            continue
        if name in ONLY_IF and not ONLY_IF[name](request.user):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": False})
    # One entry is highlighted: the longest prefix of the path (/changes/graduations/ is 毕业,
    # not also 学籍异动); 首页 only on the home page itself.
    matches = [item for item in items if request.path == item["url"]
               or (item["url"] != "/" and request.path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav": items, "membership": membership}
