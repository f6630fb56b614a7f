"""An import holds a few chunks of the file at a time (one per writer and the one being read), whatever the
file's size (traced with tracemalloc)."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from analytics_api.kernel.imports import import_jsonl
from analytics_api.kernel.ingestion import IngestResult
from conversations.models import Interaction
from conversations.services import IMPORT_KEYS, interactions_ingest
from tests.conftest import Tenant
from tests.conversations.factories import SessionRecordFactory

CHUNK = 50

# Committed batch by batch, as in production: inside a test's transaction the batches' on-commit
# work (and what it references) would pile up until the test ends, and look like a leak.
pytestmark = pytest.mark.django_db(transaction=True)


def _collected(result: IngestResult) -> IngestResult:
    # What is held, not when the cyclic collector runs: without a collection, a longer import gives
    # garbage cycles more time to pile up between two full collections, and peaks higher by chance.
    gc.collect()
    return result


def _traced_peak(tenant: Tenant, path: Path) -> int:
    """Bytes allocated at the import's peak, above what was allocated when it started."""
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        report = import_jsonl(
            path=path,
            ingest=lambda records: _collected(interactions_ingest(account=tenant.account, records=records)),
            keys=IMPORT_KEYS,
            progress=io.StringIO(),
            chunk_size=CHUNK,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.lines == report.result.created + report.result.updated
    return peak - baseline


def _file(tmp_path: Path, tenant: Tenant, name: str, lines: int) -> Path:
    path = tmp_path / name
    path.write_text(
        "".join(json.dumps(SessionRecordFactory(botId=tenant.bot.bot_id)) + "\n" for _ in range(lines))
    )
    return path


def test_an_import_of_four_times_the_lines_peaks_no_higher(tenant: Tenant, tmp_path: Path) -> None:
    small = _file(tmp_path, tenant, "small.jsonl", 4 * CHUNK)
    large = _file(tmp_path, tenant, "large.jsonl", 16 * CHUNK)
    _traced_peak(tenant, small)  # first use: imports, caches and compiled statements are made here

    small_peak = _traced_peak(tenant, small)
    large_peak = _traced_peak(tenant, large)

    assert Interaction.objects.filter(account=tenant.account).count() == 20 * CHUNK
    # Holding every line would make the large file's peak about four times the small one's.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
