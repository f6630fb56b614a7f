from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.models import ApiClient, new_sealed_secret


class Command(BaseCommand):
    help = (
        "Print an API client's webhook secret: the key of the HMAC-SHA256 in X-Webhook-Signature of the "
        "webhooks its requests cause. --rotate replaces it first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", metavar="clientId")
        parser.add_argument("--rotate", action="store_true", help="Replace the secret with a new one")

    def handle(self, *args: Any, **options: Any) -> None:
        client = ApiClient.objects.filter(client_id=options["client_id"]).first()
        if client is None:
            raise CommandError(f"No API client {options['client_id']!r}.")
        if options["rotate"]:
            client.sealed_webhook_secret = new_sealed_secret()
            client.save(update_fields=["sealed_webhook_secret"])
        self.stdout.write(client.webhook_secret)
