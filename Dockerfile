FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY config config
COPY devtools devtools
COPY registry registry
COPY provinces provinces
COPY schools schools
COPY transfers transfers
COPY changes changes
RUN pip install --no-cache-dir -e ".[s3]"
COPY . .
ENV DJANGO_SETTINGS_MODULE=config.settings.production
RUN SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0000 DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost ALLOWED_HOSTS=localhost python manage.py collectstatic --no-input -v 0
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "gunicorn.conf.py"]
