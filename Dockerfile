# syntax=docker/dockerfile:1
# Production image: gunicorn serving config.wsgi, static files collected and served by whitenoise.
# The same image runs the web process, the ASGI server of the live board's WebSockets (uvicorn),
# the Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/checkin-metrics

WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code (and the collected static files) belong to root and are read-only for the runtime
# user: a compromised process cannot rewrite the application. .dockerignore keeps .env out.
COPY . .

# collectstatic needs settings but no database, cache or real secret (and writes no metrics).
# The metrics directory belongs to the runtime user; compose mounts a shared volume there.
RUN SECRET_KEY=collectstatic-only PROMETHEUS_MULTIPROC_DIR='' python manage.py collectstatic --noinput \
    && chmod 0755 deploy/entrypoint.sh \
    && chmod -R go-w /app \
    && install -d -o 10001 -g 10001 -m 0750 /tmp/checkin-metrics

USER 10001:10001

EXPOSE 8000 8001

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"]

ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30", "--graceful-timeout", "20", "--preload", "--access-logfile", "-"]
