"""Project-level endpoints that belong to no app: health and robots.txt."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, JsonResponse


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def robots(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")
