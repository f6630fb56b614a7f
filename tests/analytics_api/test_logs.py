"""Log lines: JSON that parses, with the request's context; never a token, a secret or an e-mail address."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django_q.tasks import async_task

from analytics_api.logs import ContextLogFilter, JsonFormatter, PlainFormatter, mask_secrets
from analytics_api.middleware import ControlCharacterLogFilter
from analytics_api.tenancy.services import jwt_mint
from tests.conftest import Tenant

INGEST = "/api/v1/ingest/interactions"
EMAIL = "jane.doe+vip@customer-example.com"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every log line of the test, as LOG_FORMAT=json writes them (the settings' filters and formatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextLogFilter())
    handler.addFilter(ControlCharacterLogFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_request_ends_with_a_json_line_carrying_its_context(tenant: Tenant, json_lines: io.StringIO) -> None:
    answer = tenant.post(INGEST, {"records": [{"sessionId": 5}]}, **{"x-request-id": "req-42"})
    assert answer.status_code == 200
    [access] = [line for line in parsed(json_lines) if line["logger"] == "analytics_api.access"]
    assert access["request_id"] == "req-42"
    assert access["client_id"] == tenant.api_client.client_id
    assert access["account"] == tenant.account_id
    assert access["operation"] == "ingestInteractions"
    assert access["status"] == 200
    assert access["level"] == "INFO"
    assert isinstance(access["duration_ms"], float)
    assert access["message"].startswith("POST ingestInteractions 200 ")
    assert access["time"].endswith("+00:00")


def test_lines_written_inside_a_request_carry_its_request_id(tenant: Tenant, json_lines: io.StringIO) -> None:
    answer = tenant.http.get(
        f"/api/v1/recordings/c1?accountId={tenant.account_id}", headers={"auth": "not-a-jwt"}
    )
    assert answer.status_code == 401
    request_id = answer["x-request-id"]
    lines = parsed(json_lines)
    failure = [line for line in lines if line["logger"] == "analytics_api.tenancy.auth"]
    assert failure and all(line["request_id"] == request_id for line in failure)
    assert {line["request_id"] for line in lines} == {request_id}


def test_no_token_or_customer_email_reaches_any_log_line(tenant: Tenant, json_lines: io.StringIO) -> None:
    """A valid token with a record naming a customer's e-mail; a forged token whose appId is that
    e-mail, as a bearer; a failure whose traceback quotes both: neither shows in any line."""
    token = tenant.token()
    record = {"sessionId": 5, "customerinfo": {"email": EMAIL}, "channel": EMAIL}
    assert tenant.http.post(INGEST, {"records": [record]}, format="json", headers={"auth": token}).status_code == 200
    forged = jwt_mint(client=tenant.api_client).replace(
        jwt_mint(client=tenant.api_client).split(".")[1], _claims_naming(EMAIL)
    )
    tenant.http.get(
        f"/api/v1/recordings/c1?accountId={tenant.account_id}", headers={"Authorization": f"Bearer {forged}"}
    )
    try:
        raise RuntimeError(f"upstream refused Authorization: Bearer {token} for {EMAIL}")
    except RuntimeError:
        logging.getLogger("analytics_api.test").exception("Call failed with %s for %s", token, EMAIL)
    text = json_lines.getvalue()
    lines = parsed(json_lines)
    assert len(lines) >= 4
    assert token not in text and forged not in text and EMAIL not in text
    assert "customer-example.com" not in text
    [failed] = [line for line in lines if line["logger"] == "analytics_api.test"]
    assert failed["message"] == "Call failed with [token] for [email]"
    assert "Bearer [token] for [email]" in failed["exception"]


def _claims_naming(app_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"appId": app_id, "exp": 4102444800}).encode()).decode().rstrip("=")


def test_the_plain_format_masks_the_same_things() -> None:
    formatter = PlainFormatter("%(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s with %s at %s", (
        EMAIL, "eyJhbGciOiJIUzI1NiJ9.eyJhcHBJZCI6ImNzLTEifQ.c2ln", "postgres://u:hunter2@db/x"
    ), None)
    assert formatter.format(record) == "to [email] with [token] at postgres://u:********************@db/x"


@pytest.mark.parametrize(("line", "masked"), [
    ("sent BEARER abc.def to the proxy", "sent BEARER [token] to the proxy"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJhcHBJZCI6ImNzLTEifQ.c2ln refused", "token [token] refused"),
    ("mail a.b@example.com", "mail [email]"),
    ("redis://:pw@cache:6379/0 down", "redis://:********************@cache:6379/0 down"),
])
def test_each_secret_is_masked_when_it_is_the_only_one_in_the_line(line: str, masked: str) -> None:
    # Lines without "@", "eyJ" or "bearer" skip the scans: each kind alone must still reach them.
    assert mask_secrets(line) == masked


def test_masking_keeps_what_operators_need() -> None:
    kept = "Recording file 12 stored: 3 bytes, sha256 ab12"
    assert mask_secrets(kept) == kept
    assert mask_secrets("GET interactionDetails 200 3.1 ms") == "GET interactionDetails 200 3.1 ms"


def test_a_task_logs_json_with_its_id_and_function_as_context(db: Any, json_lines: io.StringIO) -> None:
    task_id = async_task("recordings.tasks.recordings_sweep", sync=True)
    [finished] = [line for line in parsed(json_lines) if line["logger"] == "analytics_api.tasks"]
    assert finished["message"] == "Task recordings.tasks.recordings_sweep: success"
    assert finished["request_id"] == task_id
    assert finished["operation"] == "recordings.tasks.recordings_sweep"
    assert finished["status"] == "success"
    assert isinstance(finished["duration_ms"], float)
