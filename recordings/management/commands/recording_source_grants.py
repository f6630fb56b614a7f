"""List, add and remove an account's recording source grants (operators only; see recordings.grants)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.models import Account
from recordings.grants import GrantInvalid, grant_parse
from recordings.selectors import recording_source_grants
from recordings.services import recording_source_grant_add, recording_source_grant_remove


class Command(BaseCommand):
    help = (
        "Grant an account s3:// recording sources under a bucket/prefix (s3://bucket/prefix/) or an "
        "http(s) host that may resolve to internal addresses (recorder.internal), or withdraw a grant. "
        "Lists the account's grants afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", metavar="accountId", help="The account id")
        parser.add_argument(
            "--add", action="append", default=[], metavar="GRANT",
            help="s3://bucket/prefix/ or a host name / IP address; repeat for several",
        )
        parser.add_argument("--remove", action="append", default=[], metavar="GRANT", help="A grant to withdraw")
        parser.add_argument("--list", action="store_true", help="Only list the grants (the default with no change)")

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(account_id=options["account_id"]).first()
        if account is None:
            raise CommandError(f"No account {options['account_id']!r}.")
        try:
            grants = [grant_parse(text) for text in options["add"]]
        except GrantInvalid as error:
            raise CommandError(f"Invalid grant: {error}.") from None
        for grant in grants:
            _grant, created = recording_source_grant_add(account=account, source=grant.text, actor="command")
            self.stdout.write(f"{'Added' if created else 'Already granted'}: {grant.text}")
            for warning in _warnings(grant.text):
                self.stderr.write(f"Warning: {warning}")
        for text in options["remove"]:
            removed = recording_source_grant_remove(account=account, source=text, actor="command")
            self.stdout.write(f"{'Removed' if removed else 'Not granted'}: {text}")
        current = recording_source_grants(account=account)
        self.stdout.write(f"Grants of account {account.account_id}: {len(current)}")
        for text in current:
            self.stdout.write(f"  {text}")


def _warnings(text: str) -> list[str]:
    """Why a grant just added will not take effect with the current settings."""
    grant = grant_parse(text)
    if grant.is_s3:
        found = []
        if not settings.RECORDING_SOURCE_S3_ENABLED:
            found.append("s3 sources are disabled (RECORDING_SOURCE_S3_ENABLED=false)")
        buckets = settings.RECORDING_SOURCE_S3_BUCKETS
        if buckets and grant.bucket not in buckets:
            found.append(f"bucket {grant.bucket} is not in RECORDING_SOURCE_S3_BUCKETS")
        return found
    allowed = {name.lower().strip("[]") for name in settings.RECORDING_SOURCE_ALLOWED_HOSTS}
    if grant.host not in allowed:
        return [f"host {grant.host} is not in RECORDING_SOURCE_ALLOWED_HOSTS: it may reach public addresses only"]
    return []
