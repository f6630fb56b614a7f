from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.management.commands.demo_setup import DEMO_ACCOUNT_ID, DEMO_BOT_ID, DEMO_ORG_ID
from analytics_api.models import Account
from analytics_api.tenancy.services import account_ensure
from content.demo import content_seed
from conversations.demo import interactions_seed
from diagnostics.demo import diagnostics_seed
from qualityai.demo import contacts_seed
from recordings.demo import DemoCall, recordings_demo_seed


class Command(BaseCommand):
    help = (
        "Fill an account with realistic, deterministic demo data: interactions (bot-only chats, "
        "agent chats, inbound and outbound calls, callbacks, ...), their content (transcripts, events, "
        "voice turns, statuses, scores), Quality AI contacts linked to them, "
        "and recordings that play (synthesised FLAC) for the latest calls, plus one failed fetch. "
        "Without an accountId, the demo account is used (and created)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", nargs="?", metavar="accountId")
        parser.add_argument("--days", type=int, default=14, help="Days back from today to cover (default 14)")
        parser.add_argument("--per-day", type=int, default=40, help="Conversations per day (default 40)")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: same seed, same data")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1 or options["per_day"] < 1:
            raise CommandError("--days and --per-day must be at least 1.")
        if options["account_id"]:
            account = Account.objects.filter(account_id=options["account_id"]).first()
            if account is None:
                raise CommandError(f"No account {options['account_id']!r}; create it with create_account.")
        else:
            account = account_ensure(account_id=DEMO_ACCOUNT_ID, org_id=DEMO_ORG_ID, bot_ids=[DEMO_BOT_ID])
        if not account.bots.exists():
            raise CommandError(f"Account {account.account_id} has no bot; add one with create_account --bot.")
        conversations = interactions_seed(
            account=account, days=options["days"], per_day=options["per_day"], seed=options["seed"]
        )
        contents = content_seed(account=account, seed=options["seed"])
        calls = diagnostics_seed(account=account, seed=options["seed"])
        contacts = contacts_seed(account=account, conversations=conversations, seed=options["seed"])
        recordings = recordings_demo_seed(
            account=account,
            calls=[
                DemoCall(conversation_id=item.conversation_id, ended_at=item.ended_at)
                for item in conversations
                if item.channel == "voice" and item.ended_at is not None
            ],
        )
        self.stdout.write(
            f"Seeded account {account.account_id}: {account.interactions.count()} interactions "
            f"({len(conversations)} agent-handled), {contents} with their content (transcript, events, voice turns), "
            f"{calls} voice calls with diagnostics, "
            f"{contacts} Quality AI contacts, "
            f"{len(recordings.available)} playable recordings"
            + (f" and 1 failed one ({recordings.failed})." if recordings.failed else ".")
        )
