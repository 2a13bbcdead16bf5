"""Request ids, structured logs and Prometheus metrics (docs/operations.md).

``RequestIdMiddleware`` gives every request one id (the proxy's ``X-Request-Id`` when it is
a sane token, a new one otherwise), answers it back in ``X-Request-Id``, and keeps it in a
context variable for the length of the request, so every log line written while serving
it carries it (``RequestIdFilter``) and the audit context records the same id.
``JsonFormatter`` writes one JSON object per line (production).

Metrics: django-prometheus measures requests (latency, status, per view); the collector
here adds what lives in Redis: the length of each Celery queue and the task failures the
workers count there (``count_task_failure``), so any web process answers for all workers.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import uuid

from django.conf import settings
from django.http import Http404, HttpResponse

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

#: Redis hash of failures per task name, incremented by the workers.
TASK_FAILURES_KEY = "registry:metrics:task_failures"


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-Id", "")
        request_id = offered if _SANE_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response.headers["X-Request-Id"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# --- metrics -----------------------------------------------------------------------------

def _redis():
    import redis

    url = settings.REDIS_URL
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"), socket_timeout=2)
    return redis.Redis.from_url(url, socket_timeout=2)


def count_task_failure(task_name: str) -> None:
    """Called by the workers' ``task_failure`` signal (config/celery.py)."""
    _redis().hincrby(TASK_FAILURES_KEY, task_name, 1)


def celery_queues() -> list[str]:
    """The queues the workers consume: the default one and those of ``CELERY_TASK_ROUTES``."""
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    for route in getattr(settings, "CELERY_TASK_ROUTES", {}).values():
        if route.get("queue"):
            queues.add(route["queue"])
    return sorted(queues)


class RedisCollector:
    """Celery queue lengths and task failures, read from Redis at scrape time."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        client = _redis()
        queue_length = GaugeMetricFamily(
            "registry_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
        )
        for queue in celery_queues():
            queue_length.add_metric([queue], client.llen(queue))
        yield queue_length
        failures = CounterMetricFamily(
            "registry_celery_task_failures", "Celery tasks that ended with an exception", labels=["task"]
        )
        for name, count in sorted(client.hgetall(TASK_FAILURES_KEY).items()):
            failures.add_metric([name.decode()], int(count))
        yield failures


def metrics(request):
    """``/metrics`` in the Prometheus text format.

    With ``METRICS_TOKEN`` set, only a request bearing it is answered; production settings
    serve nothing (404) until it is set. With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn's
    several workers) the request metrics of every worker are summed.
    """
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    token = settings.METRICS_TOKEN
    if token:
        if request.headers.get("Authorization", "") != f"Bearer {token}":
            raise Http404
    elif settings.METRICS_REQUIRE_TOKEN:
        raise Http404
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(RedisCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
