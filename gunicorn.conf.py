"""gunicorn settings of the web server (docker-compose.yml and bench/transfer_chains.py).

Sync workers, 2 × cores + 1 of them by default (``WEB_CONCURRENCY`` overrides): each
request has a process to itself, and an idle worker takes the next connection, so load
spreads evenly over the cores. ``preload_app`` imports and warms the application once in
the master (see ``config/wsgi.py``) before the workers fork, so a new worker serves its
first request as fast as the rest. Put a buffering reverse proxy in front on the internet.

In a container ``cpu_count()`` may report the host's cores: set ``WEB_CONCURRENCY`` to the
cores the container really has. Each worker holds one PostgreSQL connection
(``DB_CONN_MAX_AGE``), so workers of every web container plus Celery's must stay under
PostgreSQL's ``max_connections``.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
preload_app = True
timeout = 60
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")


# Prometheus (config.observability): with PROMETHEUS_MULTIPROC_DIR set (the image sets it),
# every worker writes its metrics there and /metrics sums them; the folder starts empty and
# a dead worker's live gauges are dropped.
def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
