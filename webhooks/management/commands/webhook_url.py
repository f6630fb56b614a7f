from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.models import Account
from webhooks.addresses import webhook_url_problem


class Command(BaseCommand):
    help = (
        "Show or set an account's webhook URL: where export and notification webhooks go when a request "
        "names no webhookUrl. Its host must be public unless an operator granted it (recording_source_grants)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", metavar="accountId")
        parser.add_argument("url", nargs="?", help="The new URL (http or https); omit it to show the current one")
        parser.add_argument("--clear", action="store_true", help="Remove the account's webhook URL")

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(account_id=options["account_id"]).first()
        if account is None:
            raise CommandError(f"No account {options['account_id']!r}.")
        if options["clear"]:
            account.webhook_url = ""
            account.save(update_fields=["webhook_url"])
            self.stdout.write(f"Account {account.account_id} has no webhook URL now.")
            return
        if options["url"] is None:
            self.stdout.write(account.webhook_url or "(none)")
            return
        problem = webhook_url_problem(options["url"])
        if problem:
            raise CommandError(problem)
        account.webhook_url = options["url"].strip()
        account.save(update_fields=["webhook_url"])
        self.stdout.write(f"Account {account.account_id} webhook URL: {account.webhook_url}")
