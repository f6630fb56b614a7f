"""``manage.py search_reindex [ACCOUNT_ID ...]``: rebuild the search index of stored conversations.

Writers keep the index current; this fills it for data stored before the search existed (an upgrade)
and rebuilds it after a change of the word rules (docs/search.md#index-maintenance). Batches of
conversations, one transaction each, so it can run while the service serves.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analytics_api.models import Account
from content.models import Conversation
from search.services import search_index_refresh

BATCH = 500


class Command(BaseCommand):
    help = "Rebuild the search index of the stored conversations (of the given accounts, else of all)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("accounts", nargs="*", help="accountId values; none: every account")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = Account.objects.order_by("pk")
        if options["accounts"]:
            accounts = accounts.filter(account_id__in=options["accounts"])
            missing = set(options["accounts"]) - set(accounts.values_list("account_id", flat=True))
            if missing:
                raise CommandError(f"No account {', '.join(sorted(missing))}.")
        total = 0
        for account in accounts:
            ids = list(Conversation.objects.filter(account=account).order_by("pk").values_list("pk", flat=True))
            for first in range(0, len(ids), BATCH):
                search_index_refresh(account_id=account.pk, conversation_ids=ids[first:first + BATCH])
            total += len(ids)
            self.stdout.write(f"{account.account_id}: {len(ids)} conversations indexed")
        self.stdout.write(f"Indexed {total} conversations.")
