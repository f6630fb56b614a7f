"""django-q2 tasks of the webhook outbox; ``webhooks_sweep`` runs every minute (migration ``0002_schedules``)."""

from __future__ import annotations

from webhooks.services import delivery_attempt, webhook_deliver_queue, webhooks_abandoned_fail, webhooks_due_claimable

SWEEP_BATCH = 500


def webhook_deliver(delivery_id: int) -> str:
    return delivery_attempt(delivery_id=delivery_id)


def webhooks_sweep() -> int:
    """Fail deliveries whose last attempt's worker died, then queue one task per due delivery (a
    duplicate task finds the delivery claimed or no longer due and does nothing)."""
    webhooks_abandoned_fail()
    due = webhooks_due_claimable(limit=SWEEP_BATCH)
    for delivery_id in due:
        webhook_deliver_queue(delivery_id=delivery_id)
    return len(due)
