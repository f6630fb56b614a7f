"""Writes of the webhook outbox: queueing a delivery in the caller's transaction, and attempts.

A delivery is queued with :func:`webhook_enqueue` inside the transaction that decides the event, so
it exists exactly when the event does; a worker task is queued on commit, and the minute sweep
(:func:`webhooks_due_claimable`) picks up retries and anything whose task was lost.

Each attempt claims the row under a lease (a conditional UPDATE, so two workers never send the same
attempt), signs the body at send time with the client's webhook secret, and records the outcome
conditional on still holding the claim. Attempt n (1-based) that fails is followed by attempt n + 1
after ``BACKOFF[n - 1]``; after ``MAX_ATTEMPTS`` failed attempts, or at once for a refused address,
the delivery is ``failed``. An attempt whose worker died counts as a failed one once its lease ran out.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.models import Account, ApiClient
from recordings.selectors import recording_source_policy
from webhooks.models import Delivery, DeliveryState
from webhooks.sending import WebhookFailure, WebhookRefused, webhook_post
from webhooks.signing import webhook_signature_headers

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The wait after failed attempt 1, 2, 3, 4.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
ABANDONED = "the attempt did not finish within its lease (its worker was killed, crashed or timed out)"
NO_SIGNER = "the account has no enabled API client whose webhook secret could sign the delivery"


def lease_seconds() -> int:
    # Outlives the attempt's own deadline, so a live attempt never loses its claim.
    return settings.WEBHOOK_DEADLINE_SECONDS + settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + 30


def webhook_body(*, account: Account, event: str, payload: dict, at: datetime) -> bytes:
    """``{"event", "accountId", "occurredAt", "data"}``: the bytes sent and signed."""
    document = {"event": event, "accountId": account.account_id, "occurredAt": render_utc_ms(at), "data": payload}
    return orjson.dumps(document)


def webhook_enqueue(
    *, account_id: int, event: str, payload: dict, url: str | None = None, api_client_id: int | None = None
) -> Delivery | None:
    """Queue one delivery of ``event`` (call it inside the transaction that decides the event).

    ``account_id`` is the account's primary key; ``url`` None means the account's webhook URL, and
    without one nothing is queued (None is returned). ``api_client_id`` names the client whose
    webhook secret signs it (the one whose request caused the event); None = the account's oldest
    enabled client at send time. The worker's task is queued when the transaction commits.
    """
    account = Account.objects.get(pk=account_id)
    target = url if url is not None else account.webhook_url
    if not target:
        return None
    now = timezone.now()
    delivery = Delivery.objects.create(
        account=account,
        api_client_id=api_client_id,
        event=event,
        url=target,
        body=webhook_body(account=account, event=event, payload=payload, at=now),
        next_attempt_at=now,
    )
    transaction.on_commit(lambda: webhook_deliver_queue(delivery_id=delivery.pk))
    return delivery


def webhook_deliver_queue(*, delivery_id: int) -> None:
    async_task("webhooks.tasks.webhook_deliver", delivery_id, task_name=f"webhook-{delivery_id}")


def _claimable(now: datetime) -> Q:
    return (
        Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


def delivery_claim(*, delivery_id: int) -> str:
    """Take the delivery for one attempt (counted now); its claim token, or "" when it is not due or
    another worker holds it."""
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = Delivery.objects.filter(_claimable(now), pk=delivery_id, attempts__lt=MAX_ATTEMPTS).update(
        claim_token=token,
        claimed_until=now + timedelta(seconds=lease_seconds()),
        attempts=F("attempts") + 1,
    )
    return token if taken else ""


def _signer(delivery: Delivery) -> ApiClient | None:
    if delivery.api_client is not None and delivery.api_client.enabled:
        return delivery.api_client
    return ApiClient.objects.filter(account_id=delivery.account_id, enabled=True).order_by("created_at", "pk").first()


def delivery_attempt(*, delivery_id: int) -> str:
    """Run one attempt of a due delivery; its new state, or "" when it was not ours to send.

    1. Claim it (:func:`delivery_claim`).
    2. Sign the body with the signing client's webhook secret and the current time.
    3. POST it under the recording sources' address rules (:func:`webhooks.sending.webhook_post`).
    4. Record the outcome while still holding the claim.
    """
    token = delivery_claim(delivery_id=delivery_id)
    if not token:
        return ""
    delivery = Delivery.objects.select_related("api_client").get(pk=delivery_id)
    body = bytes(delivery.body)
    signer = _signer(delivery)
    if signer is None:
        return _record_failure(delivery, token, NO_SIGNER, final=True)
    headers = {
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": str(delivery.pk),
        **webhook_signature_headers(secret=signer.webhook_secret, timestamp=int(timezone.now().timestamp()), body=body),
    }
    try:
        answer = webhook_post(
            delivery.url, body=body, headers=headers, policy=recording_source_policy(account=delivery.account_id)
        )
    except WebhookRefused as error:
        return _record_failure(delivery, token, str(error), final=True)
    except WebhookFailure as error:
        return _record_failure(delivery, token, str(error), status=error.status)
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        state=DeliveryState.DELIVERED, delivered_at=now, last_status=answer.status, last_error="",
        next_attempt_at=None, claim_token="", claimed_until=None,
    )
    logger.info("Webhook %s (%s) delivered on attempt %s", delivery.pk, delivery.event, delivery.attempts)
    return DeliveryState.DELIVERED


def _record_failure(
    delivery: Delivery, token: str, reason: str, *, status: int | None = None, final: bool = False
) -> str:
    now = timezone.now()
    if final or delivery.attempts >= MAX_ATTEMPTS:
        state, next_at = DeliveryState.FAILED, None
    else:
        state, next_at = DeliveryState.PENDING, now + BACKOFF[delivery.attempts - 1]
    Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        state=state, next_attempt_at=next_at, last_status=status, last_error=reason[:2000],
        claim_token="", claimed_until=None,
    )
    logger.warning("Webhook %s (%s) attempt %s failed: %s -> %s", delivery.pk, delivery.event, delivery.attempts,
                   reason, state)
    return state


def webhooks_abandoned_fail() -> int:
    """Close deliveries whose last allowed attempt's worker died (lease run out): they are ``failed``.

    Earlier attempts that died need nothing: their lease runs out and the claim condition takes them
    again, the dead attempt counted.
    """
    now = timezone.now()
    return Delivery.objects.filter(
        state=DeliveryState.PENDING, attempts__gte=MAX_ATTEMPTS, claimed_until__lt=now
    ).update(state=DeliveryState.FAILED, next_attempt_at=None, last_error=ABANDONED, claim_token="", claimed_until=None)


def webhooks_due_claimable(*, limit: int) -> list[int]:
    """Ids of the deliveries an attempt could take now, oldest due first."""
    now = timezone.now()
    due = Delivery.objects.filter(_claimable(now), attempts__lt=MAX_ATTEMPTS).order_by("next_attempt_at", "pk")
    return list(due.values_list("pk", flat=True)[:limit])


def delivery_retry(*, delivery_id: int) -> Delivery:
    """An operator's retry of a failed delivery: pending again with a fresh set of attempts."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery_id, state=DeliveryState.FAILED).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, claim_token="", claimed_until=None
    )
    transaction.on_commit(lambda: webhook_deliver_queue(delivery_id=delivery_id))
    return Delivery.objects.get(pk=delivery_id)
