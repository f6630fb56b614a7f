from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.prerender import Prerendering
from conversations.documents import SERVED_DOCUMENTS
from qualityai.rendering import SERVED_RESULTS

DATASETS = {spec.dataset: spec for spec in (SERVED_DOCUMENTS, SERVED_RESULTS)}


class Command(BaseCommand):
    help = (
        "Re-render the pre-rendered texts of stored rows whose format version is not the current one "
        "(after an upgrade; see analytics_api.kernel.prerender). Streams in primary-key batches, prints progress "
        "on stderr; stop it at any time and run it again: it only does what is left. Pages stay correct "
        "meanwhile, rendered from the documents (slower)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", choices=[*DATASETS, "all"], default="all", help="Which rows (default all)")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows per transaction (default 1000)")
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many rows (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["limit"] is not None and options["limit"] < 0:
            raise CommandError("--limit must be 0 or more.")
        chosen = list(DATASETS.values()) if options["dataset"] == "all" else [DATASETS[options["dataset"]]]
        budget = options["limit"]
        for spec in chosen:
            done = self._rerender(spec, batch_size=options["batch_size"], limit=budget)
            if budget is not None:
                budget -= done

    def _rerender(self, spec: Prerendering, *, batch_size: int, limit: int | None) -> int:
        """Re-render at most ``limit`` stale rows of ``spec``; progress at most once a second, then what is left."""
        total = spec.stale().count()
        todo = total if limit is None else min(total, limit)
        done, last, exhausted = 0, 0, total == 0
        began = shown = time.monotonic()
        while done < todo:
            size = min(batch_size, todo - done)
            count, last = spec.rerender_batch(after=last, size=size)
            done += count
            now = time.monotonic()
            if count and (now - shown >= 1 or done >= todo or count < size):
                shown = now
                rate = done / max(now - began, 1e-6)
                self.stderr.write(f"{spec.dataset}: {done}/{todo} rows ({done / todo:.0%}), {rate:,.0f} rows/s")
            if count < size:
                exhausted = True  # the others were re-rendered meanwhile (by ingestion or another run)
                break
        left = 0 if exhausted else total - done
        self.stdout.write(
            f"{spec.dataset}: re-rendered {done} rows (format version {spec.version}) in "
            f"{time.monotonic() - began:.1f} s; "
            + ("none left." if not left else f"{left} left: run prerender again to finish.")
        )
        return done
