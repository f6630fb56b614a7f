"""The webhook outbox (docs/contract.md#webhooks): one row per delivery, written in the caller's
transaction, sent by a worker after commit, retried with backoff."""

from __future__ import annotations

from django.db import models

from analytics_api.models import Account, ApiClient


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending (waiting for its first or next attempt)"
    DELIVERED = "delivered", "Delivered (the receiver answered 2xx)"
    FAILED = "failed", "Failed (every attempt failed, or the address is refused)"


class Delivery(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_deliveries")
    api_client = models.ForeignKey(
        ApiClient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
        help_text="Whose webhook secret signs it; empty = the account's oldest enabled client",
    )
    event = models.CharField(max_length=100, help_text="e.g. export.completed")
    url = models.CharField(max_length=2000)
    body = models.BinaryField(help_text="The exact bytes POSTed (and signed)")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Empty once delivered or failed")
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the worker sending it")
    last_status = models.PositiveIntegerField(null=True, blank=True, help_text="HTTP status of the last answer")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.url} ({self.state})"
