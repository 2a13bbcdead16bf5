# syntax=docker/dockerfile:1
# The production image: the locked runtime dependencies only (requirements.lock, made by
# pip-compile from pyproject.toml: `make lock`), no development extra (no embedded
# servers, playwright, demo data or tests), static files collected at build, run as an
# unprivileged user. Settings: config.settings.production (fails closed).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.lock /tmp/requirements.lock
# Every package pinned and checked against its hash; nothing else is resolved.
RUN pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    REGISTRY_VAR_DIR=/app/var MEDIA_ROOT=/data/media AUDIT_ARCHIVE_DIR=/data/audit-archive \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN groupadd --system --gid 10001 registry \
 && useradd --system --uid 10001 --gid registry --home-dir /app --no-create-home --shell /usr/sbin/nologin registry \
 && mkdir -p /data/media /data/audit-archive /tmp/prometheus \
 && chown registry:registry /data/media /data/audit-archive /tmp/prometheus
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The source (see .dockerignore: no var/, .git, .venv, tests, bench or devtools), owned by
# root and read-only to the application.
COPY . .
RUN SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost ALLOWED_HOSTS=build \
    python manage.py collectstatic --no-input -v 0 \
 && python -m compileall -q /app
USER registry:registry
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "config.wsgi:application", "--config", "gunicorn.conf.py"]
