"""The operator's webhook commands: the account's URL, a client's webhook secret, the outbox listing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics_api.models import ApiClient
from webhooks.models import Delivery, DeliveryState


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _delivery(tenant: Any, state: str, **fields: Any) -> Delivery:
    return Delivery.objects.create(account=tenant.account, event="export.completed", url="https://bi.example/hook",
                                   body=b"{}", state=state, **fields)


def test_webhook_url_sets_shows_and_clears_the_accounts_url(tenant: Any) -> None:
    assert _run("webhook_url", tenant.account_id).strip() == "(none)"
    _run("webhook_url", tenant.account_id, " https://bi.example/hook ")
    tenant.account.refresh_from_db()
    assert tenant.account.webhook_url == "https://bi.example/hook"
    assert _run("webhook_url", tenant.account_id).strip() == "https://bi.example/hook"
    _run("webhook_url", tenant.account_id, "--clear")
    tenant.account.refresh_from_db()
    assert tenant.account.webhook_url == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://bi.example/hook", "A webhook URL must be an http or https address."),
        ("https://bi.example/\nhook", "A webhook URL may not contain control characters (such as CR, LF or tab); "
                                      "percent-encode them."),
    ],
)
def test_webhook_url_refuses_what_is_not_a_webhook_address(tenant: Any, url: str, message: str) -> None:
    with pytest.raises(CommandError) as error:
        _run("webhook_url", tenant.account_id, url)
    assert str(error.value) == message
    tenant.account.refresh_from_db()
    assert tenant.account.webhook_url == ""


def test_webhook_secret_prints_the_secret_and_rotates_it(tenant: Any) -> None:
    before = tenant.api_client.webhook_secret
    assert _run("webhook_secret", tenant.api_client.client_id).strip() == before
    rotated = _run("webhook_secret", tenant.api_client.client_id, "--rotate").strip()
    assert rotated != before
    client = ApiClient.objects.get(pk=tenant.api_client.pk)
    assert client.webhook_secret == rotated
    assert rotated not in client.sealed_webhook_secret  # encrypted at rest


def test_each_client_has_its_own_webhook_secret(tenant: Any, outsider: Any) -> None:
    assert tenant.api_client.webhook_secret != outsider.api_client.webhook_secret
    assert tenant.api_client.webhook_secret != tenant.api_client.secret


def test_webhook_deliveries_lists_pending_and_failed_ones(tenant: Any) -> None:
    failed = _delivery(tenant, DeliveryState.FAILED, attempts=5, last_status=503, last_error="HTTP 503: nope")
    pending = _delivery(tenant, DeliveryState.PENDING, attempts=1)
    _delivery(tenant, DeliveryState.DELIVERED, attempts=1)

    lines = _run("webhook_deliveries").strip().splitlines()

    assert [line.split("\t")[:2] for line in lines] == [[str(pending.pk), "pending"], [str(failed.pk), "failed"]]
    assert lines[1].endswith("https://bi.example/hook\tHTTP 503: nope")
    assert "attempts=5" in lines[1]


def test_webhook_deliveries_retry_queues_a_failed_delivery_again(tenant: Any) -> None:
    failed = _delivery(tenant, DeliveryState.FAILED, attempts=5)
    assert _run("webhook_deliveries", "--retry", str(failed.pk)).strip() == f"Delivery {failed.pk} queued again."
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (DeliveryState.PENDING, 0)
    with pytest.raises(CommandError, match="only a failed delivery is retried"):
        _run("webhook_deliveries", "--retry", str(failed.pk))
