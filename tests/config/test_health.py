"""/healthz (liveness), /readyz (database, broker, worker, beat, media disk), request ids in
the logs and the Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from config import observability
from config.views import BEAT_HEARTBEAT_KEY


def test_liveness_answers_without_asking_the_database(client):
    response = client.get("/healthz")  # no database access is allowed in this test
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.celery
@pytest.mark.slow
def test_readiness_is_ok_with_a_worker_and_a_recent_beat_heartbeat(transactional_db, celery_worker_process):
    from config.celery import beat_heartbeat

    cache.delete(BEAT_HEARTBEAT_KEY)
    beat_heartbeat.delay()  # what beat sends every minute, run by the real worker
    deadline = time.time() + 30
    while cache.get(BEAT_HEARTBEAT_KEY) is None and time.time() < deadline:
        time.sleep(0.2)
    from django.test import Client

    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker", "beat", "media_disk"}
    assert body["checks"]["beat"]["last_run_seconds_ago"] < 60
    assert body["checks"]["worker"]["worker"].startswith("celery@")


@pytest.mark.django_db
def test_readiness_fails_without_a_beat_heartbeat(client, settings):
    settings.READY_WORKER_TIMEOUT = 0.2
    cache.delete(BEAT_HEARTBEAT_KEY)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {
        "ok": False, "detail": "no beat heartbeat recorded yet", "ms": response.json()["checks"]["beat"]["ms"],
    }


@pytest.mark.django_db
def test_readiness_fails_on_a_stale_heartbeat_and_a_full_media_disk(client, settings):
    settings.READY_WORKER_TIMEOUT = 0.2
    settings.READY_MEDIA_MIN_FREE_BYTES = 10**18
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - 3600, None)
    try:
        checks = client.get("/readyz").json()["checks"]
    finally:
        cache.delete(BEAT_HEARTBEAT_KEY)
    assert checks["database"]["ok"] is True
    assert checks["broker"]["ok"] is True
    assert checks["beat"]["ok"] is False and checks["beat"]["last_run_seconds_ago"] >= 3600
    assert checks["media_disk"]["ok"] is False and "bytes free" in checks["media_disk"]["detail"]


@pytest.mark.django_db
def test_readiness_fails_when_the_broker_does_not_answer(client, settings):
    settings.READY_WORKER_TIMEOUT = 0.2
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert "ConnectionError" in response.json()["checks"]["broker"]["detail"]


def test_every_log_line_of_a_request_carries_its_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(observability.RequestIdFilter())
    handler.setFormatter(observability.JsonFormatter())
    logger = logging.getLogger("registry.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def view(request):
        logger.info("serving %s", request.path)
        from django.http import HttpResponse

        return HttpResponse("ok")

    middleware = observability.RequestIdMiddleware(view)
    try:
        given = middleware(RequestFactory().get("/x", HTTP_X_REQUEST_ID="abc-123"))
        fresh = middleware(RequestFactory().get("/y", HTTP_X_REQUEST_ID="bad id; drop table"))
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert given["X-Request-Id"] == "abc-123"
    assert lines[0]["request_id"] == "abc-123" and lines[0]["message"] == "serving /x"
    assert lines[1]["request_id"] == fresh["X-Request-Id"] and len(fresh["X-Request-Id"]) == 32
    assert lines[2]["request_id"] == ""
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "registry.test"


@pytest.mark.django_db
def test_metrics_show_request_latency_queue_length_and_task_failures(client):
    client.get("/healthz")
    redis = observability._redis()
    redis.hdel(observability.TASK_FAILURES_KEY, "tests.failing")
    observability.count_task_failure("tests.failing")
    try:
        text = client.get("/metrics").content.decode()
    finally:
        redis.hdel(observability.TASK_FAILURES_KEY, "tests.failing")
    assert "django_http_requests_latency_seconds_by_view_method" in text
    assert 'registry_celery_queue_length{queue="registry"}' in text
    assert 'registry_celery_task_failures_total{task="tests.failing"} 1.0' in text


def test_metrics_need_the_token_when_one_is_required(client, settings):
    settings.METRICS_REQUIRE_TOKEN = True
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
