from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics_api.kernel.dates import DateFormatError, local_to_utc, parse_aware


def test_window_bounds_beyond_the_calendar_are_clamped() -> None:
    assert local_to_utc(datetime(9999, 12, 31, 23, 59, 59), 720) == datetime.max.replace(tzinfo=UTC)
    assert local_to_utc(datetime(1, 1, 1), -840) == datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00+00:00"])
def test_ingested_times_at_the_calendar_edges_are_refused(value: str) -> None:
    with pytest.raises(DateFormatError, match="outside the supported range of dates"):
        parse_aware(value)
