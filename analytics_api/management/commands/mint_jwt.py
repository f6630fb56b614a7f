from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from analytics_api.models import ApiClient
from analytics_api.tenancy.services import jwt_mint


class Command(BaseCommand):
    help = "Print a fresh JWT (HS256, claim appId) for an API client, to send in the auth header."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", metavar="clientId", help="cs-<uuid>")
        parser.add_argument(
            "--ttl", type=int, default=None,
            help="Lifetime in seconds (default 3600; at most JWT_MAX_AGE_SECONDS, 86400 by default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = ApiClient.objects.filter(client_id=options["client_id"]).first()
        if client is None:
            raise CommandError(f"No API client {options['client_id']!r}; create one with create_api_client.")
        if not client.enabled:
            raise CommandError(f"API client {client.client_id} is disabled; its tokens would be refused.")
        ttl = options["ttl"]
        if ttl is not None and ttl <= 0:
            raise CommandError("--ttl must be a positive number of seconds.")
        try:
            token = jwt_mint(client=client, ttl_seconds=ttl)
        except ApiError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(token)
