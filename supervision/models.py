"""Supervisor workflows (docs/contract.md#supervisor-actions): disposition changes, saved filters, privacy.

Flags live in the conversation's ``flags`` section beside the ingested ones, and deletions, erasures
and privacy changes in the account's audit log (recordings.AuditEntry): one audit log per account.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from analytics_api.kernel.fields import FastJSONField
from analytics_api.models import Account, ApiClient

# The X-Acting-User header's cap (docs/contract.md#acting-user).
ACTING_USER_MAX = 128


class DispositionChange(models.Model):
    """One edit of a conversation's dispositions: who, when, the values before and after."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    session_id = models.CharField(max_length=128)
    at = models.DateTimeField()
    client_id = models.CharField(max_length=64, help_text="The API client that made the change")
    acting_user = models.CharField(max_length=ACTING_USER_MAX, blank=True, help_text="X-Acting-User, when sent")
    before = FastJSONField(help_text='{"dispositions": [...], "remarks": "..."}')
    after = FastJSONField(help_text='{"dispositions": [...], "remarks": "..."}')

    class Meta:
        indexes = [models.Index(fields=["account", "session_id", "id"], name="disposition_change_log")]

    def __str__(self) -> str:
        return f"{self.session_id} at {self.at:%Y-%m-%d %H:%M}"


class SavedFilter(models.Model):
    """A named set of query criteria of one owner: an API client and, when sent, its acting user."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No index of its own: the unique triple (client, acting_user, name) starts with it.
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="saved_filters", db_index=False)
    acting_user = models.CharField(max_length=ACTING_USER_MAX, blank=True)
    name = models.CharField(max_length=200)
    criteria = FastJSONField(default=dict)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "acting_user", "name"], name="saved_filter_name_per_owner"),
            models.UniqueConstraint(
                fields=["client", "acting_user"], condition=Q(is_default=True), name="saved_filter_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PrivacySettings(models.Model):
    """Whether customer e-mail addresses and phone numbers leave the service (supervision.masking)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="privacy_settings")
    obscure_customer_info = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "privacy settings"
        verbose_name_plural = "privacy settings"

    def __str__(self) -> str:
        return f"{self.account}: {'obscured' if self.obscure_customer_info else 'shown'}"
