from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from webhooks.models import Delivery, DeliveryState
from webhooks.services import delivery_retry

MAX_LIMIT = 1000


class Command(BaseCommand):
    help = "List webhook deliveries that are pending or failed (newest first), or retry a failed one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--state", action="append", choices=DeliveryState.values,
                            help="Only this state; repeat for several (default: pending and failed).")
        parser.add_argument("--account", help="Only this accountId")
        parser.add_argument("--limit", type=int, default=50, help=f"At most this many rows (1-{MAX_LIMIT}, default 50)")
        parser.add_argument("--retry", type=int, metavar="ID", help="Queue this failed delivery again")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry"] is not None:
            self._retry(options["retry"])
            return
        if not 1 <= options["limit"] <= MAX_LIMIT:
            raise CommandError(f"--limit must be between 1 and {MAX_LIMIT}.")
        states = options["state"] or [DeliveryState.PENDING, DeliveryState.FAILED]
        rows = Delivery.objects.filter(state__in=states).select_related("account").order_by("-created_at", "-pk")
        if options["account"]:
            rows = rows.filter(account__account_id=options["account"])
        shown = 0
        for delivery in rows[: options["limit"]]:
            shown += 1
            due = delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else "-"
            self.stdout.write(
                f"{delivery.pk}\t{delivery.state}\t{delivery.event}\t{delivery.account.account_id}\t"
                f"attempts={delivery.attempts}\tnext={due}\tstatus={delivery.last_status or '-'}\t{delivery.url}\t"
                f"{delivery.last_error.splitlines()[0] if delivery.last_error else ''}"
            )
        if not shown:
            self.stdout.write(f"No {' or '.join(states)} deliveries.")

    def _retry(self, delivery_id: int) -> None:
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            raise CommandError(f"No webhook delivery {delivery_id}.")
        if delivery.state != DeliveryState.FAILED:
            raise CommandError(f"Delivery {delivery_id} is {delivery.state}; only a failed delivery is retried.")
        with transaction.atomic():
            delivery_retry(delivery_id=delivery_id)
        self.stdout.write(f"Delivery {delivery_id} queued again.")
