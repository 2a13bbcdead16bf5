"""Bulk photo import benchmark: a ZIP of 10,000 realistic photos, end to end.

    .venv/bin/python bench/photo_zip.py [--photos 10000] [--bad 0.03] [--workers 2]

Uses its own database (``DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/registry_bench_photos``, created and migrated on first
use), Redis db 8 unless ``REDIS_URL`` is set, and a temporary ``MEDIA_ROOT``.

What it measures, in one run:

1. **end to end through Celery**: a real ``celery worker -c <workers>`` (prefork) is started
   from this script on a private queue; the clock runs from ``photo_bulk_start`` (upload
   check, ZIP stored) through planning and the parallel chunk tasks until the job is
   ``done``. Peak memory: the largest RSS of any worker process, sampled with psutil, and
   ``ru_maxrss`` of the children after the worker exits.
2. **baseline**: one process reads every entry and fully decodes it with Pillow
   (``Image.open(...).load()``), no checks, no database, no storage.

The ZIP: 10,000 entries named ``<ID>.jpg`` in grade/class folders, 260x320 noisy portraits
(20–40 KB each), a few percent bad (grayscale, too heavy, PNG content, unknown ID, bad name).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench_photos")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench_photos_"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["CELERY_QUEUE"] = f"bench-photos-{os.getpid()}"


def ensure_database() -> None:
    from urllib.parse import urlparse

    import psycopg2

    parts = urlparse(os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(dbname="postgres", user=parts.username or "postgres", password=parts.password,
                            host=parts.hostname, port=parts.port)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, check=True)


def setup_world(n: int):
    """A school with ``n`` pupils holding valid IDs (bulk-created), and its operator."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.models import Membership
    from kernel.identity import id_check_char
    from provinces.models import Division
    from registry.models import Pupil
    from schools.models import School, SchoolClass

    if not Division.objects.filter(code="44").exists():
        call_command("loaddata", "fixtures/divisions.json", "fixtures/codes.json", verbosity=0)
    # earlier runs: their pupils would collide with this run's national numbers
    earlier = School.objects.filter(name__startswith="基准测试学校")
    Pupil.objects.filter(school__in=earlier).delete()
    run = f"{random.randrange(10**6):06d}"
    school = School.objects.create(code=f"4401{run}", name=f"基准测试学校{run}", county_id="440106",
                                   stage="twelve_year")
    user = get_user_model().objects.create_user(username=f"bench.photos.{run}", password="x")
    Membership.objects.create(user=user, role=Membership.Role.OPERATOR, school=school)
    classes = [SchoolClass.objects.create(school=school, grade=g, number=c) for g in range(1, 13) for c in range(1, 6)]
    rng = random.Random(run)
    pupils, seen = [], set()
    while len(pupils) < n:
        birth = dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(365 * 11))
        body = f"440106{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = body + id_check_char(body)
        if number in seen:
            continue
        seen.add(number)
        klass = classes[len(pupils) % len(classes)]
        pupils.append(Pupil(
            national_number=f"L440106{birth:%Y%m%d}{len(pupils) % 10000:04d}", name=f"学生{len(pupils)}",
            sex="1" if int(body[-1]) % 2 else "2", birth_date=birth, id_number=number, school=school,
            school_class=klass, grade=klass.grade, county_code="440106", enrolled_on=dt.date(2020, 9, 1),
        ))
    Pupil.objects.bulk_create(pupils, batch_size=2000)
    return school, user, pupils


def build_zip(pupils, bad_share: float) -> tuple[bytes, int]:
    from tests.photos.factory import make_image, make_photo

    rng = random.Random(7)
    goods = []
    for i in range(120):
        w = rng.choice((240, 260, 280))
        goods.append(make_photo(w, round(w * 32 / 26), seed=i, quality=rng.choice((80, 85, 88))))
    bads = [make_photo(mode="L"), make_photo(700, 862, quality=97), make_image("PNG")]
    buf = io.BytesIO()
    n_bad = 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, pupil in enumerate(pupils):
            folder = f"{pupil.grade}年级/{pupil.school_class.number}班/"
            name, data = f"{folder}{pupil.id_number}.jpg", goods[i % len(goods)]
            if rng.random() < bad_share:
                n_bad += 1
                kind = rng.randrange(5)
                if kind < 3:
                    data = bads[kind]
                elif kind == 3:
                    name = f"{folder}{pupil.id_number[:6]}19000101{pupil.id_number[14:]}.jpg"  # fails its check
                else:
                    name = f"{folder}照片{i}.jpg"
            zf.writestr(name, data)
    return buf.getvalue(), n_bad


def start_worker(workers: int) -> subprocess.Popen:
    from config.celery import app

    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "registry", "worker", "-Q", os.environ["CELERY_QUEUE"],
         "-c", str(workers), "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    app.conf.task_default_queue = os.environ["CELERY_QUEUE"]
    deadline = time.time() + 60
    while time.time() < deadline:
        if app.control.ping(timeout=1):
            return process
        time.sleep(0.5)
    process.kill()
    sys.exit("the Celery worker did not start")


def worker_rss(process) -> int:
    try:
        import psutil
    except ImportError:
        return 0
    try:
        parent = psutil.Process(process.pid)
        return max([parent.memory_info().rss] + [c.memory_info().rss for c in parent.children(recursive=True)])
    except psutil.Error:
        return 0


def run_celery(school, user, data: bytes, workers: int) -> dict:
    from django.core.files.base import ContentFile

    from photos import imports
    from photos.tasks import photo_import_run

    worker = start_worker(workers)
    try:
        peak = 0
        started = time.perf_counter()
        job = imports.photo_bulk_start(user=user, school=school, upload=ContentFile(data, name="school.zip"),
                                      enqueue=False)
        photo_import_run.delay(job.pk)
        while True:
            peak = max(peak, worker_rss(worker))
            job.refresh_from_db()
            if job.finished:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)
    return {"job": job, "elapsed": elapsed, "peak_rss": peak}


def run_baseline(data: bytes) -> dict:
    from PIL import Image

    started = time.perf_counter()
    decoded = failed = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            try:
                with Image.open(io.BytesIO(zf.read(info))) as img:
                    img.load()
                decoded += 1
            except Exception:  # noqa: BLE001
                failed += 1
    return {"elapsed": time.perf_counter() - started, "decoded": decoded, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--bad", type=float, default=0.03)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    t = time.perf_counter()
    school, user, pupils = setup_world(args.photos)
    from registry.models import Pupil

    pupils = list(Pupil.objects.filter(school=school).select_related("school_class").order_by("pk"))
    print(f"pupils: {len(pupils)} created in {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    data, n_bad = build_zip(pupils, args.bad)
    print(f"zip: {len(pupils)} entries, {n_bad} bad, {len(data) / 1024 / 1024:.1f} MB, "
          f"built in {time.perf_counter() - t:.1f}s")

    result = run_celery(school, user, data, args.workers)
    job = result["job"]
    print(f"end-to-end via Celery worker (-c {args.workers}, prefork): {job.total} files in "
          f"{result['elapsed']:.1f}s = {job.total / result['elapsed']:.0f} files/s; "
          f"state={job.state} accepted={job.accepted} refused={job.refused} ignored={job.ignored}")
    # (ru_maxrss of children is useless here: a forked child inherits this process's RSS)
    print(f"  peak RSS of any worker process (psutil, sampled every 0.2 s): {result['peak_rss'] / 1024 / 1024:.0f} MB")
    base = run_baseline(data)
    print(f"baseline, full Pillow decode in one process: {base['decoded'] + base['failed']} files in "
          f"{base['elapsed']:.1f}s = {(base['decoded'] + base['failed']) / base['elapsed']:.0f} files/s "
          f"({base['failed']} not decodable)")
    print(f"this process (holds the whole ZIP in memory) ru_maxrss: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; cores: {os.cpu_count()}; "
          f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
