"""Settings, read once from the environment.

Every value has an embedded default that is safe (DEBUG off, a generated secret key, SQLite under
``var/``). A value that cannot be parsed raises ``ImproperlyConfigured`` naming the variable, so a
typo in a deployment fails at start-up instead of at the first request.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlparse

from django.core.exceptions import ImproperlyConfigured

from analytics_api.private_files import make_private_dirs, open_private_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """The SECRET_KEY variable, else a key generated once into var/ and kept across restarts."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        make_private_dirs(path.parent)
        key = secrets.token_urlsafe(50)
        # O_EXCL: when two processes start at once, one writes and both read the winner's key.
        try:
            fd = open_private_file(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def _database(url: str) -> dict:
    if not url:
        make_private_dirs(VAR_DIR)
        # SQLite creates its database (and gives its -wal/-shm files the same mode) with the
        # umask's default, world-readable; an empty file made 0600 here is a valid empty database.
        os.close(open_private_file(VAR_DIR / "db.sqlite3", os.O_WRONLY | os.O_CREAT))
        url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": unquote(parsed.path) or ":memory:",
            # WAL lets readers run beside the one writer; the busy timeout makes a second
            # writer (web vs worker) wait for the lock instead of failing with "database is locked".
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    if parsed.scheme in ("postgres", "postgresql"):
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return {
            # Django's backend, with health checks only after idleness (analytics_api/postgresql/base.py).
            "ENGINE": "analytics_api.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            "HEALTH_CHECK_IDLE_SECONDS": env_int("DB_HEALTH_CHECK_IDLE_SECONDS", 5, minimum=0),
            # The hot reads as prepared statements (analytics_api/postgresql/base.py); off behind a
            # pooler in transaction mode that does not keep them.
            "PREPARED_STATEMENTS": env_bool("DB_PREPARED_STATEMENTS", True),
            "OPTIONS": {"connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5, minimum=1), **options},
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with sqlite:// or postgres://, got {parsed.scheme!r}")


def _with_query_defaults(url: str, **defaults: object) -> str:
    """``url`` with ``defaults`` added to its query string; values the URL already sets win."""
    parsed = urlparse(url)
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return parsed._replace(query=urlencode({**{k: str(v) for k, v in defaults.items()}, **query})).geturl()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

# Where the server listens: ``make run`` passes it to gunicorn; a server started another way (a
# container binding 0.0.0.0:8000) must set it too, so that the DEBUG check below sees the truth.
BIND = env_str("BIND", "127.0.0.1:8000")


def _listens_on_loopback_only(bind: str) -> bool:
    """Whether a gunicorn bind (``host:port``, ``[v6]:port``, ``host``) accepts local connections only.

    A Unix socket or an inherited descriptor (``unix:``, ``fd://``) can be put behind a proxy that
    faces the network, so it does not count as loopback.
    """
    if bind.startswith("["):
        host = bind[1:].partition("]")[0]
    elif bind.count(":") == 1:
        host = bind.partition(":")[0]
    else:
        host = bind  # a bare host, or a bare IPv6 address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}
# DEBUG pages show settings and stack traces: only ever on a developer's own machine. What decides
# it is the listening address; a public host name in ALLOWED_HOSTS also means a deployment.
if DEBUG and not _listens_on_loopback_only(BIND):
    raise ImproperlyConfigured(
        f"DJANGO_DEBUG may only be on when the server listens on loopback only, but BIND is {BIND!r}: "
        "set BIND=127.0.0.1:8000 (or [::1]:8000), or turn DJANGO_DEBUG off"
    )
if DEBUG and any(host not in _LOOPBACK_HOSTS for host in ALLOWED_HOSTS):
    raise ImproperlyConfigured("DJANGO_DEBUG may only be on when ALLOWED_HOSTS lists loopback hosts only")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "analytics_api",
    "conversations",
    "qualityai",
    "recordings",
    "content",
    "search",
    "diagnostics",
    "webhooks",
    "changes",
    "supervision",
    "exports",
]

MIDDLEWARE = [
    "analytics_api.middleware.RequestIdMiddleware",
    "analytics_api.middleware.RateLimitHeadersMiddleware",
    # Outside everything that may answer early (the 413 below), so every response carries HSTS.
    "django.middleware.security.SecurityMiddleware",
    "analytics_api.middleware.SecurityHeadersMiddleware",
    "analytics_api.middleware.DebugLoopbackOnlyMiddleware",
    "analytics_api.middleware.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, CSRF, user and message middleware, run for /admin/ only (analytics_api/admin_middleware.py).
    # CommonMiddleware is left out: with APPEND_SLASH and PREPEND_WWW off and no DISALLOWED_USER_AGENTS
    # its one remaining task, Content-Length, is RequestIdMiddleware's.
    "analytics_api.admin_middleware.AdminSessionMiddleware",
    "analytics_api.admin_middleware.AdminCsrfViewMiddleware",
    "analytics_api.admin_middleware.AdminAuthenticationMiddleware",
    "analytics_api.admin_middleware.AdminMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "analytics_api.urls"
WSGI_APPLICATION = "analytics_api.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "analytics_api" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {"default": _database(DATABASE_URL)}
# Streaming replicas serving the read endpoints (docs/contract.md#read-replicas), comma-separated.
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 30, minimum=0)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 2, minimum=0)
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    if not (_url.startswith(("postgres://", "postgresql://")) and DATABASE_URL.startswith("postgres")):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS needs PostgreSQL: postgres:// replicas of a postgres:// DATABASE_URL"
        )
    _replica = _database(_url)
    # Named in pg_stat_activity and the server's log; a test run uses the primary's test database.
    _replica["OPTIONS"].setdefault("application_name", f"analytics-api-replica-{_number}")
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_number}"] = _replica
DATABASE_ROUTERS = ["analytics_api.replicas.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Shared by every process on the machine (gunicorn workers, qcluster), unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
if STATIC_ROOT.is_relative_to(VAR_DIR):
    make_private_dirs(STATIC_ROOT)  # mkdir(parents=True) would make var/ itself world-readable
else:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Static files (the docs' Swagger UI / Redoc bundles) are served by WhiteNoise straight from the
# installed packages, so the docs work offline with no collectstatic step.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Largest request body accepted; a 1,000-record ingestion batch of realistic records fits easily.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 16 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Behind a reverse proxy (docker-compose.yml's nginx) the peer is the proxy: the header in which it
# passes the client's address (X-Real-IP), used for per-address limits. Empty when clients connect
# directly (make run); set it only where nothing but the proxy can reach the application.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["analytics_api.tenancy.auth.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["analytics_api.tenancy.access.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["analytics_api.tenancy.throttling.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["analytics_api.kernel.renderers.FastJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "analytics_api.kernel.renderers.FastContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["analytics_api.kernel.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "analytics_api.kernel.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# Fernet keys encrypting API client secrets at rest, newest first; derived from SECRET_KEY if unset.
SECRET_ENCRYPTION_KEYS = env_list("SECRET_ENCRYPTION_KEYS")

# JWT (docs/contract.md#token-lifetime).
JWT_LEEWAY_SECONDS = env_int("JWT_LEEWAY_SECONDS", 30, minimum=0)
JWT_MAX_AGE_SECONDS = env_int("JWT_MAX_AGE_SECONDS", 24 * 3600, minimum=60)
JWT_DEFAULT_TTL_SECONDS = env_int("JWT_DEFAULT_TTL_SECONDS", 3600, minimum=60)
if JWT_DEFAULT_TTL_SECONDS > JWT_MAX_AGE_SECONDS:
    raise ImproperlyConfigured("JWT_DEFAULT_TTL_SECONDS must not exceed JWT_MAX_AGE_SECONDS")

# Per-client limits, sized like the reference platform's runtime APIs; each client may override.
RATE_LIMIT_PER_MINUTE = env_int("RATE_LIMIT_PER_MINUTE", 600, minimum=1)
RATE_LIMIT_PER_HOUR = env_int("RATE_LIMIT_PER_HOUR", 18000, minimum=1)
# Failed authentications tolerated per minute, for each API client named by the token (appId) and
# for each address when the token names none, before failing ones are answered 429; a token that
# verifies is never refused.
AUTH_FAILURES_PER_MINUTE = env_int("AUTH_FAILURES_PER_MINUTE", 30, minimum=1)
# Reverse proxies in front of the app that append the caller's address to X-Forwarded-For: the
# caller is the n-th entry from the right. 0 (default): the header is ignored, REMOTE_ADDR counts.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# /admin/ login attempts allowed per username and per address in each window, before refusing.
ADMIN_LOGIN_ATTEMPTS = env_int("ADMIN_LOGIN_ATTEMPTS", 10, minimum=1)
ADMIN_LOGIN_WINDOW_SECONDS = env_int("ADMIN_LOGIN_WINDOW_SECONDS", 900, minimum=60)

# Change feed (docs/contract.md#change-feed): days a change is kept; an older cursor is 410.
CHANGE_FEED_RETENTION_DAYS = env_int("CHANGE_FEED_RETENTION_DAYS", 30, minimum=1)

# Recordings storage: the local filesystem under MEDIA_ROOT unless S3_BUCKET is set.
S3_BUCKET = env_str("S3_BUCKET")
S3_PREFIX = env_str("S3_PREFIX", "recordings/")
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL")
AWS_REGION = env_str("AWS_REGION", env_str("AWS_DEFAULT_REGION", "us-east-1"))
S3_PRESIGN_SECONDS = env_int("S3_PRESIGN_SECONDS", 300, minimum=1)
# Recording source hosts that may resolve to internal addresses: those listed here only for the
# accounts they are granted to (manage.py recording_source_grants), the shared ones for every account.
RECORDING_SOURCE_ALLOWED_HOSTS = env_list("RECORDING_SOURCE_ALLOWED_HOSTS")
RECORDING_SOURCE_SHARED_HOSTS = env_list("RECORDING_SOURCE_SHARED_HOSTS")
# s3:// recording sources: off by default; when on, only under the account's granted prefixes, only
# in these buckets when set, the recordings bucket itself never; read with their own credentials
# when any RECORDING_SOURCE_AWS_* is set (else with the storage client's).
RECORDING_SOURCE_S3_ENABLED = env_bool("RECORDING_SOURCE_S3_ENABLED", False)
RECORDING_SOURCE_S3_BUCKETS = env_list("RECORDING_SOURCE_S3_BUCKETS")
RECORDING_SOURCE_AWS_ACCESS_KEY_ID = env_str("RECORDING_SOURCE_AWS_ACCESS_KEY_ID")
RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY = env_str("RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY")
RECORDING_SOURCE_AWS_ENDPOINT_URL = env_str("RECORDING_SOURCE_AWS_ENDPOINT_URL")
RECORDING_SOURCE_AWS_REGION = env_str("RECORDING_SOURCE_AWS_REGION")
if bool(RECORDING_SOURCE_AWS_ACCESS_KEY_ID) != bool(RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY):
    raise ImproperlyConfigured(
        "RECORDING_SOURCE_AWS_ACCESS_KEY_ID and RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY must be set together"
    )
RECORDING_CONNECT_TIMEOUT_SECONDS = env_int("RECORDING_CONNECT_TIMEOUT_SECONDS", 10, minimum=1)
RECORDING_READ_TIMEOUT_SECONDS = env_int("RECORDING_READ_TIMEOUT_SECONDS", 60, minimum=1)
RECORDING_MAX_BYTES = env_int("RECORDING_MAX_BYTES", 2 * 1024**3, minimum=1)
# A fetch gives up after RECORDING_FETCH_MAX_SECONDS; its lease must outlive it, or a second worker
# would reclaim a job that is still running.
RECORDING_FETCH_MAX_SECONDS = env_int("RECORDING_FETCH_MAX_SECONDS", 240, minimum=1)
RECORDING_LEASE_SECONDS = env_int("RECORDING_LEASE_SECONDS", 600, minimum=10)
if RECORDING_LEASE_SECONDS <= RECORDING_FETCH_MAX_SECONDS:
    raise ImproperlyConfigured("RECORDING_LEASE_SECONDS must be higher than RECORDING_FETCH_MAX_SECONDS")
# Fetches of one account in flight at once: one ingest client cannot take every worker.
RECORDING_FETCHES_PER_ACCOUNT = env_int("RECORDING_FETCHES_PER_ACCOUNT", 2, minimum=1)

# Webhooks (docs/contract.md#webhooks): each attempt connects within the first and ends within the second.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOK_DEADLINE_SECONDS = env_int("WEBHOOK_DEADLINE_SECONDS", 15, minimum=1)

# Export jobs (docs/contract.md#export-jobs).
EXPORT_TTL_HOURS = env_int("EXPORT_TTL_HOURS", 168, minimum=1)
EXPORT_MAX_ROWS_PER_FILE = env_int("EXPORT_MAX_ROWS_PER_FILE", 1_000_000, minimum=1)
if EXPORT_MAX_ROWS_PER_FILE > 1_000_000:
    raise ImproperlyConfigured("EXPORT_MAX_ROWS_PER_FILE must be at most 1000000 (the documented file size)")
# Renewed every thousand records; a worker silent for this long is taken for dead and its file redone.
EXPORT_LEASE_SECONDS = env_int("EXPORT_LEASE_SECONDS", 120, minimum=1)
EXPORT_MAX_ATTEMPTS = env_int("EXPORT_MAX_ATTEMPTS", 3, minimum=1)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "analytics@localhost")

# django-q2: timeout must stay below retry, or a slow task is started a second time while running.
Q_TIMEOUT_SECONDS = env_int("Q_TIMEOUT_SECONDS", 300, minimum=10)
Q_RETRY_SECONDS = env_int("Q_RETRY_SECONDS", 600, minimum=20)
if Q_TIMEOUT_SECONDS >= Q_RETRY_SECONDS:
    raise ImproperlyConfigured("Q_TIMEOUT_SECONDS must be lower than Q_RETRY_SECONDS")
# A fetch must give up before django-q2 kills it: a killed attempt counts as failed.
if Q_TIMEOUT_SECONDS <= RECORDING_FETCH_MAX_SECONDS:
    raise ImproperlyConfigured("Q_TIMEOUT_SECONDS must be higher than RECORDING_FETCH_MAX_SECONDS")
Q_CLUSTER = {
    "name": "analytics",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT_SECONDS,
    "retry": Q_RETRY_SECONDS,
    "max_attempts": 3,
    "catch_up": False,
    "label": "Task queue",
}
# The broker's connections time out like the cache's: a Redis that accepts connections but never
# answers (hung, or cut off with the connections left half-open) would otherwise block the
# cluster's sentinel and pusher for good — no schedules, no tasks, no worker restarts — even after
# Redis is back. Reads wait longer than the pusher's own one-second BLPOP.
Q_REDIS_READ_TIMEOUT_SECONDS = env_int("Q_REDIS_READ_TIMEOUT_SECONDS", 5, minimum=2)
if REDIS_URL:
    Q_CLUSTER["redis"] = _with_query_defaults(
        REDIS_URL, socket_connect_timeout=2, socket_timeout=Q_REDIS_READ_TIMEOUT_SECONDS
    )
else:
    Q_CLUSTER["orm"] = "default"

SPECTACULAR_SETTINGS = {
    "TITLE": "Analytics raw-data API",
    "DESCRIPTION": (
        "Raw conversation data (interactionDetails, calldetails), Quality AI evaluations (rawdata), "
        "ingestion and call recordings for contact centers and AI agents. Authenticate with a JWT "
        "(HS256, signed with your client secret, claim `appId` = your client id) sent in the `auth` "
        "header or as `Authorization: Bearer <token>`. Every error is "
        '`{"errors": [{"msg", "code", "field"}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SORT_OPERATIONS": False,
    "ENUM_NAME_OVERRIDES": {
        "RecordingChannelEnum": "recordings.models.Channel",
        "ExportStateEnum": "exports.models.ExportState",
        # The recordings state keeps the name it had before exports added another "state" field.
        "StateEnum": "recordings.models.RecordingState",
    },
    # The tag list and the naming conventions live in the OpenAPI kit.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "analytics_api.kernel.openapi.schema_conventions",
    ],
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# plain (default): "time level logger [request id] message"; json: one object per line
# (docs/contract.md#logs). Both mask tokens, secrets and e-mail addresses.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
ACCESS_LOG_LEVEL = env_str("ACCESS_LOG_LEVEL", "INFO").strip().upper()
if ACCESS_LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(f"ACCESS_LOG_LEVEL must be INFO or WARNING (or another level), got {ACCESS_LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "analytics_api.logs.ContextLogFilter"},
        "control_characters": {"()": "analytics_api.middleware.ControlCharacterLogFilter"},
    },
    "formatters": {
        "plain": {
            "()": "analytics_api.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "analytics_api.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context", "control_characters"]
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # One line per request (method, operation, status, duration); WARNING turns it off.
        "analytics_api.access": {"level": ACCESS_LOG_LEVEL},
    },
}

# /metrics (docs/contract.md#metrics): answered to addresses in METRICS_ALLOWED_NETS (CIDRs; default
# this machine only) and to requests carrying "Authorization: Bearer <METRICS_TOKEN>" when it is set.
METRICS_ALLOWED_NETS = []
for _net in env_list("METRICS_ALLOWED_NETS", "127.0.0.0/8,::1/128"):
    try:
        METRICS_ALLOWED_NETS.append(ipaddress.ip_network(_net, strict=False))
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETS must list networks such as 10.0.0.0/8, got {_net!r}"
        ) from None
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long")
# Multiprocess metrics: each process writes to PROMETHEUS_MULTIPROC_DIR (set by make run and
# gunicorn's configuration); /metrics also sums the files of METRICS_READ_DIRS (the worker
# container's directory on a shared volume, in docker-compose.yml).
METRICS_READ_DIRS = env_list("METRICS_READ_DIRS")
if env_str("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus-client opens its files there as soon as a metric is made, before anything else could.
    Path(env_str("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Django's default (same-origin) would otherwise win over the project's policy; the admin, whose
# forms need a same-origin Referer/Origin for CSRF, gets same-origin from SecurityHeadersMiddleware.
SECURE_REFERRER_POLICY = "no-referrer"
# HSTS goes only on HTTPS requests (Django never sends it over plain HTTP), so it is on by default;
# SECURE_HSTS_SECONDS=0 turns it off. Behind a TLS-terminating proxy, name the header the proxy
# sets to "https" (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto) — only if the proxy always sets or
# strips it, since a client could send it too.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER")
if _PROXY_SSL_HEADER and not re.fullmatch(r"[A-Za-z0-9-]+", _PROXY_SSL_HEADER):
    raise ImproperlyConfigured(
        f"SECURE_PROXY_SSL_HEADER must be a header name such as X-Forwarded-Proto, got {_PROXY_SSL_HEADER!r}"
    )
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)
# Error reports (the DEBUG page, error e-mails) mask connection-URL passwords and credential names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "analytics_api.reporting.CredentialSafeReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "analytics_api.reporting.CredentialSafeExceptionReporter"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
