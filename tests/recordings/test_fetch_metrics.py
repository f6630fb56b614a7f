"""Fetch attempts counted by outcome, and the recordings' state gauge, in /metrics."""

from __future__ import annotations

from typing import Any

import pytest

from tests.metrics import moved, scrape
from tests.recordings.conftest import RecordingServer, Reply, automatic_retry, first_attempt, register_served

pytestmark = pytest.mark.django_db

ATTEMPTS = "analytics_recording_fetch_attempts_total"


def test_a_failed_fetch_counts_its_kind_and_the_recording_shows_in_its_state(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b"busy"), Reply())
    before = scrape()
    assert first_attempt(clock) == {"initial_fetch_failed": 1}
    failed = scrape()
    assert moved(before, failed, ATTEMPTS, outcome="transient") == 1
    assert moved(before, failed, ATTEMPTS, outcome="stored") == 0
    assert moved(before, failed, "analytics_recordings", state="initial_fetch_failed") == 1

    assert automatic_retry(clock) == {"available": 1}
    stored = scrape()
    assert moved(failed, stored, ATTEMPTS, outcome="stored") == 1
    assert moved(failed, stored, "analytics_recordings", state="initial_fetch_failed") == -1


def test_a_missing_source_counts_as_missing(tenant: Any, recording_server: RecordingServer, clock: Any) -> None:
    register_served(recording_server, tenant.account, Reply(status=404, body=b""))
    before = scrape()
    assert first_attempt(clock) == {"media_unavailable": 1}
    after = scrape()
    assert moved(before, after, ATTEMPTS, outcome="missing") == 1
    assert moved(before, after, "analytics_recordings", state="media_unavailable") == 1
