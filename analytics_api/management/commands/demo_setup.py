from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from analytics_api.models import Account, ApiClient, Scope
from analytics_api.tenancy.services import account_ensure, api_client_create, jwt_mint
from diagnostics.selectors import diagnostics_example
from recordings.models import RETRYABLE_STATES, RecordingState
from recordings.selectors import recording_example

DEMO_ACCOUNT_ID = "6123a3b2c4d5e6f708192a3b"
DEMO_ORG_ID = "o-6f5c2a1e-8d3b-4c7a-9e21-5b4d3c2a1f00"
DEMO_BOT_ID = "st-3f2a9c1e-7b4d-4e8a-a6c2-1d9e8f7a6b50"
DEMO_CLIENT_NAME = "demo"


class Command(BaseCommand):
    help = (
        "Make sure the demo account, its bot and a demo API client exist (seeding demo data when the "
        "account is empty), then print the client id, a fresh JWT and a ready-to-paste curl."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--no-seed", action="store_true", help="Do not seed demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        account = account_ensure(
            account_id=DEMO_ACCOUNT_ID, org_id=DEMO_ORG_ID, name="Demo contact center", bot_ids=[DEMO_BOT_ID]
        )
        client = ApiClient.objects.filter(account=account, name=DEMO_CLIENT_NAME).first()
        if client is None:
            client = api_client_create(account_id=account.account_id, scopes=Scope.values, name=DEMO_CLIENT_NAME)
        if not options["no_seed"] and _demo_data_is_stale(account):
            # Seeding is idempotent and relative to today: an older demo database is moved forward,
            # so the README's examples (the last seven days) always find data.
            self.stdout.write("Seeding demo data (seed_demo)...")
            call_command("seed_demo", account.account_id, stdout=self.stdout)
        # As long-lived as the API accepts (24 h by default).
        ttl = settings.JWT_MAX_AGE_SECONDS
        token = jwt_mint(client=client, ttl_seconds=ttl)
        base = options["base_url"]
        # Demo calls for the README's recordings examples: one whose recording plays, one to retry.
        playing = recording_example(account=account, states=[RecordingState.AVAILABLE])
        failed = recording_example(account=account, states=RETRYABLE_STATES)
        # A voice call with its transcript, latency and diagnostics, for the conversation examples.
        call = diagnostics_example(account=account)
        conversation = "".join(
            f"export {name}={value}\n"
            for name, value in (("CONVERSATION", playing), ("FAILED_CONVERSATION", failed), ("CALL", call))
            if value
        )
        self.stdout.write(
            f"""
Demo account: {account.account_id} (org {account.org_id}, bot {DEMO_BOT_ID})
API client:   {client.client_id}  scopes: {" ".join(sorted(client.scopes))}
JWT ({ttl} s): {token}

For the README's examples, paste:
export TOKEN={token}
export ACCOUNT={account.account_id} ORG={account.org_id} STREAM={DEMO_BOT_ID} BASE={base}
export START={_demo_start()} END={_demo_end()}
{conversation}
Try it:
curl -s -X POST '{base}/agentassist/api/public/analytics/account/{account.account_id}/v2/interactionDetails?limit=5' \\
  -H 'Content-Type: application/json' -H 'auth: {token}' \\
  -d '{{"startDate": "{_demo_start()}", "endDate": "{_demo_end()}", "timeZoneOffset": 0}}'

API docs: {base}/api/docs/   (Redoc: {base}/api/redoc/)
"""
        )


def _demo_data_is_stale(account: Account) -> bool:
    """True when the demo account has no interaction started today (UTC) or later."""
    today = datetime.combine(datetime.now(UTC).date(), time(0), tzinfo=UTC)
    return not account.interactions.filter(session_start__gte=today).exists()


def _demo_end() -> str:
    return datetime.now(UTC).date().isoformat()


def _demo_start() -> str:
    return (datetime.now(UTC).date() - timedelta(days=6)).isoformat()
