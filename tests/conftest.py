"""The shared test world: one province with two counties of two schools each, a city, and a
neighbour province — users of every role in every unit, so every test can also try the
neighbour's data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.utils import translation

from accounts.models import Membership
from provinces import divisions
from provinces.models import Division
from registry import codes
from schools.models import School
from tests.factories import PASSWORD, make_pupil, make_user

Role = Membership.Role


def ensure_reference_data() -> None:
    """The national code tables and divisions (transactional tests flush them)."""
    if not Division.objects.filter(code="44").exists():
        call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
    codes.clear_cache()
    divisions.clear_cache()


def pytest_unconfigure(config):
    """``make test`` on the embedded servers stops the ones it started: no process is left."""
    import sys

    embedded = sys.modules.get("devtools.embedded")
    if embedded is not None:
        embedded.stop_started()


@pytest.fixture(autouse=True)
def _fresh_province_settings():
    """Province settings are cached across processes; a test's writes roll back unseen."""
    from provinces.cache import forget_all

    forget_all()
    yield
    forget_all()


@pytest.fixture(autouse=True)
def _default_language():
    """A request through LocaleMiddleware leaves its language active on the thread; the next
    test starts in the default language (zh-hans) again."""
    yield
    translation.activate("zh-hans")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hashing ~40 test users with PBKDF2 would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_reference_data()


@dataclass
class Unit:
    operator: object
    approver: object
    admin: object | None = None
    school: School | None = None
    division: Division | None = None


@dataclass
class World:
    province: Division
    city: Division
    county_a: Division
    county_b: Division
    other_county: Division
    school_a1: School
    school_a2: School
    school_b1: School
    school_b2: School
    school_x: School
    units: dict[str, Unit] = field(default_factory=dict)
    pupils: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Unit:
        return self.units[key]


def _unit(code: str, *, school=None, division=None, admin: bool = False) -> Unit:
    return Unit(
        operator=make_user(f"{code}.operator", role=Role.OPERATOR, school=school, division=division),
        approver=make_user(f"{code}.approver", role=Role.APPROVER, school=school, division=division),
        admin=make_user(f"{code}.admin", role=Role.ADMIN, division=division) if admin else None,
        school=school,
        division=division,
    )


@pytest.fixture
def world(db) -> World:
    ensure_reference_data()
    province = Division.objects.get(code="44")
    city = Division.objects.get(code="4401")
    county_a = Division.objects.get(code="440106")  # 天河区
    county_b = Division.objects.get(code="440105")  # 海珠区
    other_county = Division.objects.get(code="420102")  # 武汉市江岸区, another province
    schools = {
        "a1": School.objects.create(code="4401060001", name="天河第一小学", county=county_a, stage="primary"),
        "a2": School.objects.create(code="4401060002", name="天河第二中学", county=county_a, stage="junior"),
        "b1": School.objects.create(code="4401050001", name="海珠第一小学", county=county_b, stage="primary"),
        "b2": School.objects.create(code="4401050002", name="海珠九年一贯制学校", county=county_b, stage="nine_year"),
        "x": School.objects.create(code="4201020001", name="江岸实验小学", county=other_county, stage="primary"),
    }
    w = World(province, city, county_a, county_b, other_county, *(schools[k] for k in ("a1", "a2", "b1", "b2", "x")))
    for key, school in schools.items():
        w.units[key] = _unit(school.code, school=school)
    w.units["county_a"] = _unit("440106", division=county_a)
    w.units["county_b"] = _unit("440105", division=county_b)
    w.units["other_county"] = _unit("420102", division=other_county)
    w.units["city"] = _unit("4401", division=city)
    w.units["province"] = _unit("44", division=province, admin=True)
    w.units["other_province"] = _unit("42", division=Division.objects.get(code="42"), admin=True)
    w.pupils["a1"] = make_pupil(w.school_a1, name="李娜", sex="2", birth_date=dt.date(2016, 5, 1))
    w.pupils["b1"] = make_pupil(w.school_b1, name="王伟", sex="1", birth_date=dt.date(2015, 9, 9))
    w.pupils["x"] = make_pupil(w.school_x, name="陈静", sex="2", birth_date=dt.date(2016, 1, 2))
    return w


@pytest.fixture
def login(client):
    """Log the Django test client in as a user; returns the client."""

    def _login(user):
        client.logout()
        # django-axes watches every authentication and needs the request it came with.
        assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
        return client

    return _login


@pytest.fixture
def api_token():
    """A bearer-token header for a user."""
    from accounts.models import ApiToken

    def _token(user) -> dict:
        _, raw = ApiToken.issue(user, access=ApiToken.Access.WRITE)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return _token


# --- real processes: a Celery worker, a headless browser ------------------------------

@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real ``celery worker`` process on the test database and a private queue.

    Tests that use it must use ``transactional_db`` (the worker only sees committed rows).
    """
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings

    from config.celery import app

    db = settings.DATABASES["default"]
    queue = f"test-{os.getpid()}"
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(db)
    env["REDIS_URL"] = settings.REDIS_URL
    env["CELERY_QUEUE"] = queue
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.worker_app", "worker", "-Q", queue, "-c", "2",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        env=env,
        cwd=str(settings.BASE_DIR),
    )
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if app.control.ping(timeout=1, destination=None):
                break
        except Exception:
            pass
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited at start")
        time.sleep(0.5)
    yield {"process": process, "queue": queue, "env": env}
    app.conf.task_default_queue = old_queue
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def _database_url(db: dict) -> str:
    from urllib.parse import quote

    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db.get('USER') or '', safe='')}{password}@{host}{port}/{db['NAME']}"


CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    import os
    import shutil

    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_CANDIDATES):
        if candidate and os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright; skipped (saying why) without one."""
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium on this machine (apt-get install chromium); browser tests skipped")
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=path,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page; ``page.base_url`` is the live server."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def browser_login(page):
    def _login(user):
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        return page

    return _login
