"""Webhook deliveries against a real local receiver: signature, retries with backoff, giving up,
the recording sources' address rules, deadlines, and a worker that died mid-attempt."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django_q.models import OrmQ

from tests.factories import ApiClientFactory
from tests.webhook_receiver import Receiver, webhook_receiver
from webhooks.models import Delivery, DeliveryState
from webhooks.services import (
    ABANDONED,
    MAX_ATTEMPTS,
    delivery_attempt,
    delivery_claim,
    webhook_enqueue,
)
from webhooks.signing import webhook_signature_valid
from webhooks.tasks import webhooks_sweep

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.RECORDING_SOURCE_SHARED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_DEADLINE_SECONDS = 2
    with webhook_receiver() as server:
        yield server


def _enqueue(tenant: Any, url: str | None, **kwargs: Any) -> Delivery | None:
    with transaction.atomic():
        return webhook_enqueue(
            account_id=tenant.account.pk, event="export.completed", payload={"id": "exp-1"}, url=url, **kwargs
        )


def test_a_delivery_is_signed_with_the_clients_webhook_secret_over_timestamp_and_body(
    tenant: Any, receiver: Receiver, clock: Any
) -> None:
    delivery = _enqueue(tenant, receiver.url + "/hook", api_client_id=tenant.api_client.pk)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.DELIVERED

    [got] = receiver.received
    assert got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-webhook-timestamp"] == str(int(NOW.timestamp()))
    assert got.headers["x-webhook-event"] == "export.completed"
    assert json.loads(got.body) == {
        "event": "export.completed",
        "accountId": tenant.account_id,
        "occurredAt": "2026-05-04T09:00:00.000Z",
        "data": {"id": "exp-1"},
    }
    assert webhook_signature_valid(
        secret=tenant.api_client.webhook_secret,
        timestamp=got.headers["x-webhook-timestamp"],
        body=got.body,
        signature=got.headers["x-webhook-signature"],
        now=NOW.timestamp(),
    )
    # Not the client secret, and not over the body alone.
    assert not webhook_signature_valid(
        secret=tenant.api_client.secret, timestamp=got.headers["x-webhook-timestamp"], body=got.body,
        signature=got.headers["x-webhook-signature"], now=NOW.timestamp(),
    )
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.next_attempt_at) == (
        DeliveryState.DELIVERED, 1, 200, None,
    )


def test_the_delivery_task_is_queued_only_when_the_callers_transaction_commits(
    tenant: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            webhook_enqueue(account_id=tenant.account.pk, event="export.failed", payload={}, url=receiver.url)
            assert OrmQ.objects.count() == 0
    assert len(callbacks) == 1
    assert OrmQ.objects.count() == 1


def test_a_rolled_back_event_leaves_no_delivery(tenant: Any, receiver: Receiver) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_enqueue(account_id=tenant.account.pk, event="export.failed", payload={}, url=receiver.url)
        raise RuntimeError("the caller's transaction fails")
    assert not Delivery.objects.exists()


def test_without_url_the_accounts_webhook_url_is_used_and_without_either_nothing_is_queued(
    tenant: Any, receiver: Receiver
) -> None:
    assert _enqueue(tenant, None) is None
    assert not Delivery.objects.exists()

    tenant.account.webhook_url = receiver.url + "/account-hook"
    tenant.account.save()
    delivery = _enqueue(tenant, None)
    assert delivery.url == receiver.url + "/account-hook"


def test_a_failing_receiver_is_retried_with_backoff_until_it_succeeds(
    tenant: Any, receiver: Receiver, clock: time_machine.Coordinates
) -> None:
    receiver.script(500, 503, 200)
    delivery = _enqueue(tenant, receiver.url)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (1, 500, "HTTP 500: nope")
    assert delivery.next_attempt_at == NOW + timedelta(minutes=1)

    clock.shift(timedelta(seconds=59))
    assert webhooks_sweep() == 0  # not due yet
    assert delivery_attempt(delivery_id=delivery.pk) == ""
    clock.shift(timedelta(seconds=1))
    assert webhooks_sweep() == 1
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == NOW + timedelta(minutes=1) + timedelta(minutes=5)

    clock.shift(timedelta(minutes=5))
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.DELIVERED
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status, delivery.last_error) == (
        DeliveryState.DELIVERED, 3, 200, "",
    )
    assert len(receiver.received) == 3
    # Each attempt is signed at its own time.
    stamps = [got.headers["x-webhook-timestamp"] for got in receiver.received]
    assert stamps == [str(int((NOW + shift).timestamp())) for shift in
                      (timedelta(0), timedelta(minutes=1), timedelta(minutes=6))]
    for got in receiver.received:
        assert webhook_signature_valid(
            secret=tenant.api_client.webhook_secret, timestamp=got.headers["x-webhook-timestamp"], body=got.body,
            signature=got.headers["x-webhook-signature"], now=int(got.headers["x-webhook-timestamp"]),
        )


def test_a_delivery_gives_up_after_five_failed_attempts(
    tenant: Any, receiver: Receiver, clock: time_machine.Coordinates
) -> None:
    receiver.script(503)
    delivery = _enqueue(tenant, receiver.url)
    for _attempt in range(MAX_ATTEMPTS):
        delivery_attempt(delivery_id=delivery.pk)
        clock.shift(timedelta(hours=3))
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (DeliveryState.FAILED, 5, None)
    assert len(receiver.received) == 5
    assert webhooks_sweep() == 0
    assert delivery_attempt(delivery_id=delivery.pk) == ""
    assert len(receiver.received) == 5


def test_a_private_address_is_refused_unless_an_operator_allowed_it(
    tenant: Any, receiver: Receiver, settings: Any
) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = []
    delivery = _enqueue(tenant, receiver.url)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.FAILED

    delivery.refresh_from_db()
    assert delivery.last_error == (
        "address refused: host 127.0.0.1 resolves to 127.0.0.1: 127.0.0.1 is a loopback address"
    )
    assert delivery.attempts == 1
    assert receiver.received == []


def test_a_redirect_is_not_followed(tenant: Any, receiver: Receiver, clock: Any) -> None:
    with webhook_receiver() as elsewhere:
        receiver.script(307)
        receiver.location = elsewhere.url + "/stolen"
        delivery = _enqueue(tenant, receiver.url)
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
        assert elsewhere.received == []
    delivery.refresh_from_db()
    assert (delivery.last_status, delivery.last_error) == (307, "HTTP 307: redirects are not followed")


def test_a_receiver_slower_than_the_deadline_is_a_failed_attempt(
    tenant: Any, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_DEADLINE_SECONDS = 1
    receiver.delay = 3
    delivery = _enqueue(tenant, receiver.url)
    started = time.monotonic()

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING

    assert time.monotonic() - started < 2.5
    delivery.refresh_from_db()
    assert delivery.last_error == f"{receiver.url}: TimeoutError: gave up after 1 s (WEBHOOK_DEADLINE_SECONDS)"
    assert delivery.last_status is None


def test_an_attempt_whose_worker_died_counts_and_the_last_one_ends_failed(
    tenant: Any, receiver: Receiver, clock: time_machine.Coordinates
) -> None:
    delivery = _enqueue(tenant, receiver.url)
    for _attempt in range(MAX_ATTEMPTS):
        assert delivery_claim(delivery_id=delivery.pk)  # and the worker is killed before an outcome
        assert delivery_claim(delivery_id=delivery.pk) == ""  # held: nobody else sends it meanwhile
        clock.shift(timedelta(minutes=2))  # the lease runs out
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, MAX_ATTEMPTS)

    assert webhooks_sweep() == 0

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == (DeliveryState.FAILED, ABANDONED)
    assert receiver.received == []


def test_a_delivery_of_a_disabled_client_is_signed_by_the_accounts_oldest_enabled_client(
    tenant: Any, receiver: Receiver
) -> None:
    other = ApiClientFactory(account=tenant.account)
    delivery = _enqueue(tenant, receiver.url, api_client_id=other.pk)
    other.enabled = False
    other.save()

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.DELIVERED

    [got] = receiver.received
    assert webhook_signature_valid(
        secret=tenant.api_client.webhook_secret, timestamp=got.headers["x-webhook-timestamp"], body=got.body,
        signature=got.headers["x-webhook-signature"], now=int(got.headers["x-webhook-timestamp"]),
    )
