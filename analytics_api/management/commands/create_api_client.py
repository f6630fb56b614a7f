from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from analytics_api.models import Scope
from analytics_api.tenancy.services import api_client_create


class Command(BaseCommand):
    help = (
        "Create an API client for an account and print its client id and secret. "
        "The secret signs the client's JWTs; it is shown only here, so keep it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", metavar="accountId")
        parser.add_argument(
            "--scope", action="append", required=True, dest="scopes", choices=Scope.values,
            help="A scope to grant; repeat for several.",
        )
        parser.add_argument("--name", default="", help="A display name")
        parser.add_argument("--json", action="store_true", help="End with one JSON line for scripts")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = api_client_create(
                account_id=options["account_id"], scopes=options["scopes"], name=options["name"]
            )
        except ApiError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            payload = {
                "clientId": client.client_id,
                "clientSecret": client.secret,
                "webhookSecret": client.webhook_secret,
                "accountId": client.account.account_id,
                "orgId": client.account.org_id,
                "scopes": client.scopes,
            }
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"Client id:     {client.client_id}")
        self.stdout.write(f"Client secret: {client.secret}")
        self.stdout.write(f"Webhook secret: {client.webhook_secret}")
        self.stdout.write(f"Account:       {client.account.account_id}")
        self.stdout.write(f"Scopes:        {', '.join(client.scopes)}")
        self.stdout.write(f"Mint a token:  python manage.py mint_jwt {client.client_id}")
