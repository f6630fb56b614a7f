from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from analytics_api.tenancy.services import account_ensure


class Command(BaseCommand):
    help = (
        "Create an account (accountId) of an org, or add bots/apps to an existing one. "
        "Idempotent: running it again changes nothing but adds the bots it did not have."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", metavar="accountId", help="The account id, e.g. 24 hex characters")
        parser.add_argument("--org", required=True, help="The org id the account belongs to, e.g. o-<uuid>")
        parser.add_argument("--name", default="", help="A display name")
        parser.add_argument(
            "--bot", action="append", default=[], dest="bots", metavar="BOT_ID",
            help="A bot/app id (st-<uuid>) of the account; repeat for several. Quality AI streams are bots.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            account = account_ensure(
                account_id=options["account_id"], org_id=options["org"], name=options["name"],
                bot_ids=options["bots"],
            )
        except ApiError as error:
            raise CommandError(str(error)) from None
        bots = ", ".join(account.bots.order_by("bot_id").values_list("bot_id", flat=True)) or "none"
        self.stdout.write(f"Account {account.account_id} (org {account.org_id}); bots: {bots}")
