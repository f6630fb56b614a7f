"""Tenancy (docs/contract.md#tenancy): accounts, their bots/apps, and the API clients that act for them."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import models

from analytics_api.tenancy.client_cache import api_clients_changed
from analytics_api.tenancy.secrets_box import seal, unseal


class Scope(models.TextChoices):
    ANALYTICS = "smartassist.analytics", "interactionDetails and calldetails"
    QUALITYAI = "qualityai.analytics", "Quality AI rawdata"
    INGEST = "ingest", "Ingestion endpoints"
    RECORDINGS = "recordings", "Recordings"
    ADMIN = "account.admin", "Account settings (retention, privacy) and audit log"
    CONVERSATIONS_READ = "conversations.read", "Conversation reads: query, details, transcript, events, latency"
    CONVERSATIONS_SUPERVISE = "conversations.supervise", "Supervisor actions: dispositions, flags, filters, deletion"
    EXPORTS = "exports", "Export jobs (with the dataset's read scope)"


class Account(models.Model):
    account_id = models.CharField(max_length=64, unique=True, help_text="accountId, e.g. 24 hex characters")
    org_id = models.CharField(max_length=64, help_text="orgId, e.g. o-<uuid>")
    name = models.CharField(max_length=200, blank=True)
    webhook_url = models.CharField(
        max_length=2000,
        blank=True,
        help_text="Where export and notification webhooks go when a request names no webhookUrl (http or https)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.account_id

    # Authentication keeps each client with its account per process: changes must reach every copy.
    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        if not adding:
            api_clients_changed(self.api_clients.values_list("client_id", flat=True))

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        client_ids = list(self.api_clients.values_list("client_id", flat=True))
        deleted = super().delete(*args, **kwargs)
        api_clients_changed(client_ids)
        return deleted


class Bot(models.Model):
    """A bot or app of an account; a Quality AI ``streamId`` is one of these."""

    # No index of its own: the unique pair (account, bot_id) starts with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bots", db_index=False)
    bot_id = models.CharField(max_length=64, help_text="st-<uuid>")
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "bot_id"], name="bot_unique_per_account")]

    def __str__(self) -> str:
        return self.name or self.bot_id


def new_client_id() -> str:
    return f"cs-{uuid.uuid4()}"


def new_client_secret() -> str:
    # 48 random bytes, well above HS256's 32-byte minimum key length.
    return secrets.token_urlsafe(48)


def new_sealed_secret() -> str:
    return seal(new_client_secret())


class ApiClientQuerySet(models.QuerySet):
    """Bulk writes announce the clients they change (analytics_api.tenancy.client_cache)."""

    def update(self, **kwargs: Any) -> int:
        client_ids = list(self.values_list("client_id", flat=True))
        updated = super().update(**kwargs)
        api_clients_changed(client_ids)
        return updated

    def delete(self) -> tuple[int, dict[str, int]]:
        client_ids = list(self.values_list("client_id", flat=True))
        deleted = super().delete()
        api_clients_changed(client_ids)
        return deleted


class ApiClient(models.Model):
    client_id = models.CharField(max_length=64, unique=True, default=new_client_id, editable=False)
    # Encrypted at rest (analytics_api.tenancy.secrets_box); read it through ``secret``.
    sealed_secret = models.TextField(default=new_sealed_secret, editable=False)
    # Signs the webhooks this client's requests cause (HMAC-SHA256); encrypted at rest like the secret.
    sealed_webhook_secret = models.TextField(default=new_sealed_secret, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_clients")
    name = models.CharField(max_length=200, blank=True)
    scopes = models.JSONField(default=list, help_text="List of scopes, e.g. [\"smartassist.analytics\"]")
    enabled = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty = the RATE_LIMIT_PER_MINUTE default"
    )
    rate_limit_per_hour = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per hour; empty = the RATE_LIMIT_PER_HOUR default"
    )
    enforce_jti = models.BooleanField(
        default=False,
        help_text="Tokens must carry a jti, expire within an hour, and are accepted once",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name or self.client_id

    # Authentication keeps each client per process: a change must reach every copy at once.
    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        api_clients_changed([self.client_id])

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        client_id = self.client_id
        deleted = super().delete(*args, **kwargs)
        api_clients_changed([client_id])
        return deleted

    @property
    def secret(self) -> str:
        return unseal(self.sealed_secret)

    @property
    def webhook_secret(self) -> str:
        return unseal(self.sealed_webhook_secret)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class UsedTokenId(models.Model):
    """A ``jti`` already accepted for a client with enforce_jti; the unique pair makes reuse fail.

    The SHA-256 of the whole id is stored (a prefix is not an id), and kept until the token's
    ``exp`` + the JWT leeway: as long as the token itself would be accepted.
    """

    # No index of its own: the unique pair (client, jti_sha256) starts with it.
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="used_token_ids", db_index=False)
    jti_sha256 = models.CharField(max_length=64, help_text="SHA-256 (hex) of the token's jti")
    keep_until = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti_sha256"], name="jti_once_per_client")]

    def __str__(self) -> str:
        return self.jti_sha256
