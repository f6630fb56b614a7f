# Production image: gunicorn serving the API; run the worker from the same image with `qcluster`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VAR_DIR=/app/var DJANGO_SETTINGS_MODULE=analytics_api.settings \
    BIND=0.0.0.0:8000 WEB_CONCURRENCY=4 WEB_THREADS=8

WORKDIR /app
COPY pyproject.toml README.md ./
COPY analytics_api ./analytics_api
COPY conversations ./conversations
COPY qualityai ./qualityai
COPY recordings ./recordings
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /app app \
    && mkdir -m 0700 -p /app/var /app/metrics && chown app /app/var /app/metrics

USER app
EXPOSE 8000
# Migrations run as a one-off (`docker compose run --rm web python manage.py migrate`), not here,
# so that several web containers never race each other on start-up.
# Threaded workers with read deadlines (analytics_api/server/gunicorn_conf.py): slow clients cannot hold
# them all. On a public address, run it behind nginx as docker-compose.yml does.
CMD ["gunicorn", "-c", "python:analytics_api.server.gunicorn_conf", "analytics_api.wsgi:application"]
