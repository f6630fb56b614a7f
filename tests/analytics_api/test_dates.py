from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics_api.kernel.dates import DateFormatError, is_stored_time, local_to_utc, parse_aware, render_local
from conversations.documents import document_render


def test_window_bounds_beyond_the_calendar_are_clamped() -> None:
    assert local_to_utc(datetime(9999, 12, 31, 23, 59, 59), 720) == datetime.max.replace(tzinfo=UTC)
    assert local_to_utc(datetime(1, 1, 1), -840) == datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00+00:00"])
def test_ingested_times_at_the_calendar_edges_are_refused(value: str) -> None:
    with pytest.raises(DateFormatError, match="outside the supported range of dates"):
        parse_aware(value)


@pytest.mark.parametrize(("value", "stored"), [
    ("2026-11-30T12:34:56.789Z", True),
    ("1000-01-01T00:00:00.000Z", True),
    ("9998-12-31T23:59:59.999Z", True),
    ("0999-12-31T23:59:59.999Z", False),  # renders with three digits
    ("9999-01-01T00:00:00.000Z", False),
    ("2026-02-30T00:00:00.000Z", False),  # no such day
    ("2026-11-30T12:34:56.789+00", False),
    ("2026-11-30T12:34:56.78Z", False),
    ("2026-11-30 12:34:56.789Z", False),
    (1764505496, False),
])
def test_a_time_in_its_stored_form_is_recognised(value: object, stored: bool) -> None:
    assert is_stored_time(value) is stored


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)))
def test_documents_serve_a_stored_time_at_offset_zero_as_the_full_rendering_does(instant: datetime) -> None:
    stored = instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert is_stored_time(stored)

    def served(offset: int) -> str:
        return document_render({"sessionId": "s", "sessionStartTime": stored}, offset=offset, sections={})[
            "sessionStartTime"
        ]

    assert served(0) == render_local(datetime.fromisoformat(stored), 0)
    assert served(-90) == render_local(instant, -90) == (instant + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%S")
