from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from qualityai.models import DEFAULT_MIN_DURATION_SECONDS, MAX_MIN_DURATION_SECONDS
from qualityai.selectors import stream_by_id
from qualityai.services import stream_settings_set


class Command(BaseCommand):
    help = (
        "Set a Quality AI stream's minimum duration. Contacts shorter than it are below_threshold and left out "
        "of rawdata unless include_below_threshold is true; the change applies at once to contacts already "
        f"stored. Without a setting a stream uses {DEFAULT_MIN_DURATION_SECONDS} seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream_id", metavar="streamId", help="The stream: a bot/app id (st-<uuid>)")
        parser.add_argument(
            "--min-duration-seconds", type=int, required=True, metavar="N",
            help=f"Whole seconds, 0 to {MAX_MIN_DURATION_SECONDS} (a stream without a setting: "
            f"{DEFAULT_MIN_DURATION_SECONDS})",
        )
        parser.add_argument("--account", metavar="accountId", help="The stream's account, if several share its id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            stream = stream_by_id(stream_id=options["stream_id"], account_id=options["account"])
            settings = stream_settings_set(stream=stream, min_duration_seconds=options["min_duration_seconds"])
        except ApiError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Stream {stream.bot_id} (account {stream.account.account_id}): minimum duration "
            f"{settings.min_duration_seconds} seconds."
        )
