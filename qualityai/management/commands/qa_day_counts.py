from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from qualityai.day_counts import REFRESH_BATCH, day_counts_refresh, streams_days_mark
from qualityai.selectors import stream_by_id


class Command(BaseCommand):
    help = (
        "Count again the days of Quality AI contacts written since their last count (what the "
        "qualityai-day-counts schedule does every minute), until none is left. --rebuild first marks every "
        "day that has contacts (of one stream with --stream), for counts written around the service."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Count every day with contacts again")
        parser.add_argument("--stream", metavar="streamId", help="With --rebuild: only this stream (a bot/app id)")
        parser.add_argument("--account", metavar="accountId", help="The stream's account, if several share its id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stream"] and not options["rebuild"]:
            raise CommandError("--stream goes with --rebuild; without it every marked day is counted.")
        if options["rebuild"]:
            stream_ids = None
            if options["stream"]:
                try:
                    stream_ids = [stream_by_id(stream_id=options["stream"], account_id=options["account"]).pk]
                except ApiError as error:
                    raise CommandError(str(error)) from None
            self.stdout.write(f"Marked {streams_days_mark(stream_ids=stream_ids):,} stream days.")
        total = 0
        while True:
            refreshed = day_counts_refresh()
            total += refreshed
            if refreshed < REFRESH_BATCH:
                break
        self.stdout.write(f"Counted {total:,} stream days.")
