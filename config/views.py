"""Project-level endpoints that belong to no app: health and robots.txt.

``/healthz`` is liveness: the process answers (no dependency is asked, so a database
outage does not make the orchestrator restart every web process). ``/readyz`` is
readiness: the database, the broker, a Celery worker answering a ping, Celery beat's last
heartbeat and the free disk space for uploads, as JSON; 503 when any fails
(docs/operations.md).
"""

from __future__ import annotations

import shutil
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse

#: Cache key of beat's heartbeat (the time a worker last ran ``config.beat_heartbeat``).
BEAT_HEARTBEAT_KEY = "beat:heartbeat"


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def _check_broker() -> dict:
    from config.observability import _redis

    return {"ok": bool(_redis().ping())}


def _check_worker() -> dict:
    from config.celery import app

    replies = app.control.ping(timeout=settings.READY_WORKER_TIMEOUT, limit=1)
    if not replies:
        return {"ok": False, "detail": "no Celery worker answered a ping"}
    return {"ok": True, "worker": next(iter(replies[0]))}


def _check_beat() -> dict:
    last = cache.get(BEAT_HEARTBEAT_KEY)
    if last is None:
        return {"ok": False, "detail": "no beat heartbeat recorded yet"}
    age = time.time() - float(last)
    ok = age <= settings.READY_BEAT_MAX_AGE
    result = {"ok": ok, "last_run_seconds_ago": round(age)}
    if not ok:
        result["detail"] = f"beat's last heartbeat is older than {settings.READY_BEAT_MAX_AGE} s"
    return result


def _check_media_disk() -> dict:
    if settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
        return {"ok": True, "detail": "uploads are kept in object storage"}
    root = settings.MEDIA_ROOT
    while not root.exists() and root != root.parent:
        root = root.parent
    free = shutil.disk_usage(root).free
    ok = free >= settings.READY_MEDIA_MIN_FREE_BYTES
    result = {"ok": ok, "free_bytes": free}
    if not ok:
        result["detail"] = f"less than {settings.READY_MEDIA_MIN_FREE_BYTES} bytes free for uploads"
    return result


READINESS_CHECKS = {
    "database": _check_database,
    "broker": _check_broker,
    "worker": _check_worker,
    "beat": _check_beat,
    "media_disk": _check_media_disk,
}


def readyz(request):
    checks = {}
    for name, check in READINESS_CHECKS.items():
        started = time.monotonic()
        try:
            result = check()
        except Exception as error:  # a dependency that is down answers with an exception
            result = {"ok": False, "detail": f"{type(error).__name__}: {error}"[:300]}
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        checks[name] = result
    ready = all(result["ok"] for result in checks.values())
    return JsonResponse({"status": "ok" if ready else "fail", "checks": checks}, status=200 if ready else 503)


def robots(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")
