"""Error reports (the DEBUG 500 page, error e-mails) never show a connection password; DEBUG stays local."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import technical_500_response

from analytics_api.reporting import mask_url_credentials

ROOT = Path(__file__).resolve().parents[2]

PASSWORDS = ["pw-db-s3cret", "pw-redis-s3cret", "pw-cache-s3cret", "pw-broker-s3cret", "pw-aws-s3cret",
             "pw-meta-s3cret", "pw-local-s3cret", "pw-message-s3cret", "client-secret-value"]


@pytest.fixture
def credentialed_settings(settings: Any) -> None:
    """Settings as a deployment has them: every connection address with its password."""
    settings.DATABASE_URL = "postgres://analytics:pw-db-s3cret@db.internal:5432/analytics"
    settings.REDIS_URL = "redis://:pw-redis-s3cret@redis.internal:6379/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "redis://cache:pw-cache-s3cret@redis.internal:6379/1"},
    }
    settings.Q_CLUSTER = {"name": "analytics", "redis": "rediss://default:pw-broker-s3cret@redis.internal:6380/0"}
    settings.AWS_ENDPOINT_URL = "https://AKIAEXAMPLE:pw-aws-s3cret@s3.internal"


def _failing_request() -> tuple[Any, tuple[Any, Any, Any]]:
    request = RequestFactory().get(
        "/api/health",
        # The development server copies the environment into every request's META.
        DATABASE_URL="postgres://analytics:pw-meta-s3cret@db.internal/analytics",
        HTTP_AUTH=".".join(["a", "jwt", "token"]),
    )
    broker_url = "redis://worker:pw-local-s3cret@redis.internal:6379/0"  # a local variable of the frame
    # A local the report must hide by its name; not written whole, as the page quotes source lines.
    client_secret = "-".join(["client", "secret", "value"])  # noqa: F841
    try:
        raise ConnectionError(f"cannot reach postgres://analytics:pw-message-s3cret@db.internal ({broker_url})")
    except ConnectionError:
        return request, sys.exc_info()


@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_debug_500_page_shows_no_connection_password(
    settings: Any, credentialed_settings: None, accept: str
) -> None:
    settings.DEBUG = True
    request, exc_info = _failing_request()
    request.META["HTTP_ACCEPT"] = accept
    page = technical_500_response(request, *exc_info).content.decode()
    assert [password for password in PASSWORDS if password in page] == []
    # The rest of each address is still there to debug with.
    assert "postgres://analytics:********************@db.internal:5432/analytics" in page
    assert "redis://:********************@redis.internal:6379/0" in page
    assert "rediss://default:********************@redis.internal:6380/0" in page
    assert "https://AKIAEXAMPLE:********************@s3.internal" in page
    assert "a.jwt.token" not in page


def test_error_emails_show_no_connection_password(settings: Any, credentialed_settings: None) -> None:
    settings.ADMINS = [("Operator", "operator@example.com")]
    request, exc_info = _failing_request()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", None, exc_info)
    record.request = request
    AdminEmailHandler(include_html=True).emit(record)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    texts = [message.body, *(content for content, _ in message.alternatives)]
    assert len(texts) == 2
    for text in texts:
        assert [password for password in PASSWORDS if password in text] == []
        assert "redis://:********************@redis.internal:6379/0" in text


@pytest.mark.parametrize(
    "text,masked",
    [
        ("postgres://u:p@h/db", "postgres://u:********************@h/db"),
        ("redis://:p%40ss@h:6379", "redis://:********************@h:6379"),
        ("postgres://u:p@ss@h/db", "postgres://u:********************@h/db"),  # an unescaped @ in it
        ("a=redis://u:one@h1/0 b=redis://u:two@h2/0", "a=redis://u:********************@h1/0 "
         "b=redis://u:********************@h2/0"),
        ("https://user@h/path:x@y", "https://user@h/path:x@y"),  # a user alone is no secret
        ("no address here: a:b@c", "no address here: a:b@c"),
    ],
)
def test_mask_url_credentials(text: str, masked: str) -> None:
    assert mask_url_credentials(text) == masked


@pytest.mark.django_db
def test_with_debug_on_only_this_machine_is_answered(settings: Any) -> None:
    # A server started without BIND (gunicorn --bind 0.0.0.0, a container's published port) passes
    # the settings' check; its DEBUG pages must still not reach the network.
    settings.DEBUG = True
    remote = Client(REMOTE_ADDR="172.17.0.1").get("/api/health")
    assert remote.status_code == 403
    assert remote.json() == {"errors": [{
        "msg": "This server runs with DJANGO_DEBUG on and answers only its own machine; "
               "turn DJANGO_DEBUG off to serve other clients.",
        "code": "debug_loopback_only",
    }]}
    assert Client(REMOTE_ADDR="127.0.0.1").get("/api/health").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/api/health").status_code == 200
    settings.DEBUG = False
    assert Client(REMOTE_ADDR="172.17.0.1").get("/api/health").status_code == 200


_LOG_A_FAILURE = """
import logging, django
django.setup()
try:
    raise ConnectionError("cannot reach https://recordings:pw-source-s3cret@media.example/c1.flac")
except ConnectionError:
    logging.getLogger("recordings.jobs").exception("fetch of https://u:pw-line-s3cret@media.example failed")
"""


def test_log_lines_and_their_tracebacks_show_no_connection_password(tmp_path: Any) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env = {**clean, "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "analytics_api.settings"}
    result = subprocess.run([sys.executable, "-c", _LOG_A_FAILURE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ERROR recordings.jobs [-] fetch of https://u:********************@media.example failed" in result.stderr
    assert "ConnectionError: cannot reach https://recordings:********************@media.example/c1.flac" in (
        result.stderr
    )
    assert "s3cret" not in result.stderr
