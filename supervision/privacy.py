"""The account's privacy setting (docs/contract.md#privacy): whether customer contacts are obscured, audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from analytics_api.models import Account
from analytics_api.tenancy.client_cache import api_clients_changed
from recordings.models import AuditAction, AuditEntry
from supervision.actors import Actor
from supervision.models import PrivacySettings


def privacy_settings_get(*, account: Account) -> PrivacySettings:
    """The account's settings; an account that never set any shows customer info."""
    return PrivacySettings.objects.filter(account=account).first() or PrivacySettings(account=account)


def privacy_settings_update(*, account: Account, actor: Actor, obscure_customer_info: bool) -> PrivacySettings:
    """Switch obscuring on or off; a change is written to the account's audit log (nothing when unchanged)."""
    with transaction.atomic():
        current = PrivacySettings.objects.select_for_update().filter(account=account).first()
        current = current or PrivacySettings(account=account)
        before = current.obscure_customer_info
        changed = current.pk is None or before != obscure_customer_info
        current.obscure_customer_info = obscure_customer_info
        if changed:
            current.save()
        if before != obscure_customer_info:
            # Authentication caches each client with its account's settings: every process reloads them.
            api_clients_changed(account.api_clients.values_list("client_id", flat=True))
            AuditEntry.objects.create(
                account=account,
                at=timezone.now(),
                actor=actor.audit_name,
                action=AuditAction.PRIVACY_CHANGED,
                details={
                    "before": {"obscureCustomerInfo": before}, "after": {"obscureCustomerInfo": obscure_customer_info}
                },
            )
    return current
