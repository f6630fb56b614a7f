from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from analytics_api.models import ApiClient
from analytics_api.tenancy.secrets_box import reseal


class Command(BaseCommand):
    help = (
        "Re-encrypt every API client secret and webhook secret with the first key of SECRET_ENCRYPTION_KEYS. "
        "Run it after putting a new key in front; afterwards the old keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for client in ApiClient.objects.select_for_update().only("pk", "sealed_secret", "sealed_webhook_secret"):
                client.sealed_secret = reseal(client.sealed_secret)
                client.sealed_webhook_secret = reseal(client.sealed_webhook_secret)
                client.save(update_fields=["sealed_secret", "sealed_webhook_secret"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} client secrets with the newest key.")
