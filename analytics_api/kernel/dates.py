"""Date, time and time-zone-offset parsing and rendering, shared by every endpoint.

Offsets follow JavaScript's ``getTimezoneOffset()``: minutes of UTC − local, so India is −330 and
New York (EST) 300. A UTC instant is therefore ``local + offset`` and local is ``utc − offset``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import CharField, Func

OFFSET_MIN = -840
OFFSET_MAX = 720
STORABLE_MIN = datetime(2, 1, 1, tzinfo=UTC)
STORABLE_MAX = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

_LOCAL_FORMS = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{2}:\d{2}:\d{2}))?$"
)
_UTC_FORMS = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d{1,6})?Z?)?$"
)


class DateFormatError(ValueError):
    pass


@dataclass(frozen=True)
class LocalDateTime:
    """A wall-clock time as the caller wrote it, and whether it had a time part."""

    value: datetime  # naive
    date_only: bool


def _combine(date_text: str, time_text: str | None, fraction: str | None = None) -> datetime:
    try:
        day = date.fromisoformat(date_text)
        moment = time.fromisoformat(time_text) if time_text else time(0, 0, 0)
    except ValueError:
        raise DateFormatError("is not a real calendar date or time") from None
    result = datetime.combine(day, moment)
    if fraction:
        result = result.replace(microsecond=int(fraction[1:].ljust(6, "0")))
    return result


def parse_local(value: object, *, end_of_day: bool) -> LocalDateTime:
    """``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS`` as a naive local time.

    A date alone is the start of that day, or with ``end_of_day`` its last second inclusive
    (23:59:59.999999).
    """
    if not isinstance(value, str):
        raise DateFormatError("must be a string")
    match = _LOCAL_FORMS.match(value.strip())
    if not match:
        raise DateFormatError("must be YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS")
    parsed = _combine(match["date"], match["time"])
    date_only = match["time"] is None
    if date_only and end_of_day:
        parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
    return LocalDateTime(parsed, date_only)


def parse_utc(value: object, *, end_of_day: bool = False) -> datetime:
    """A UTC time: ``YYYY-MM-DD[ |T]HH:MM:SS[.fff][Z]`` or a date alone; aware result.

    A date alone is midnight, or with ``end_of_day`` that day's last instant (23:59:59.999999), so
    that an inclusive window ending on a date covers the whole day.
    """
    if not isinstance(value, str):
        raise DateFormatError("must be a string")
    match = _UTC_FORMS.match(value.strip())
    if not match:
        raise DateFormatError(
            "must be YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS (UTC), optionally with a fraction and Z"
        )
    parsed = _combine(match["date"], match["time"], match["fraction"]).replace(tzinfo=UTC)
    if match["time"] is None and end_of_day:
        parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
    return parsed


def parse_aware(value: object) -> datetime:
    """An ISO-8601 instant that names its zone (``Z`` or ``±HH:MM``); returned in UTC.

    Ingestion refuses times without a zone: guessing one would silently shift every record.
    """
    if not isinstance(value, str):
        raise DateFormatError("must be an ISO-8601 string")
    text = value.strip()
    if len(text) < 11 or text[10] not in "T ":
        raise DateFormatError("must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise DateFormatError("must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z") from None
    if parsed.tzinfo is None:
        raise DateFormatError("has no time zone: add Z (UTC) or an explicit offset such as +05:30")
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        raise DateFormatError("is outside the supported range of dates") from None
    # Stored times must render in every offset (±14 h) without leaving datetime's range.
    if not STORABLE_MIN <= instant <= STORABLE_MAX:
        raise DateFormatError("is outside the supported range of dates (years 0002 to 9998)")
    return instant


def parse_offset(value: object) -> int:
    """A ``timeZoneOffset`` in minutes, −840…720; integers or integer strings (header values)."""
    if isinstance(value, bool):
        raise DateFormatError("must be an integer number of minutes")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,4}", text):
            raise DateFormatError("must be an integer number of minutes")
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise DateFormatError("must be an integer number of minutes")
    if not OFFSET_MIN <= value <= OFFSET_MAX:
        raise DateFormatError(f"must be between {OFFSET_MIN} and {OFFSET_MAX} minutes (UTC − local)")
    return value


def local_to_utc(local: datetime, offset_minutes: int) -> datetime:
    """The UTC instant of a local wall-clock time.

    A bound that falls outside datetime's range (9999-12-31 in UTC−12, 0001-01-01 in UTC+14) is
    clamped to the range's edge: no stored record lies beyond it, so the window means the same.
    """
    try:
        return (local + timedelta(minutes=offset_minutes)).replace(tzinfo=UTC)
    except OverflowError:
        return (datetime.max if offset_minutes > 0 else datetime.min).replace(tzinfo=UTC)


def render_local(instant: datetime, offset_minutes: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` in the caller's local time, no zone suffix (docs/contract.md#local-and-utc-times)."""
    local = instant.astimezone(UTC) - timedelta(minutes=offset_minutes)
    return local.strftime("%Y-%m-%dT%H:%M:%S")


# The stored form of a time (render_utc_ms): one already in it is kept as sent (is_stored_time).
_STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def is_stored_time(value: Any) -> bool:
    """Whether ``value`` is a time already in its stored form, ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (as
    :func:`render_utc_ms` writes it), of a real date in the years 1000-9998 (which render with four
    digits). Validation keeps such a time as sent, and a stored one needs no parsing to be served."""
    if value.__class__ is not str or len(value) != 24 or not _STORED_TIME.fullmatch(value):
        return False
    if not "1000" <= value[:4] <= "9998":
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def render_utc_ms(instant: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (a four-digit year, so the text sorts as the instants do)."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UtcIsoText(Func):
    """A timestamp column read as ISO 8601 text in UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``, which
    :meth:`datetime.fromisoformat` reads back to the same instant.

    For order keys read by the row (export resume points): psycopg's loader of ``timestamptz`` runs
    in Python for every row and was over half the time of reading an export's rows; a text column is
    only decoded. PostgreSQL's format is spelled out, so the text does not depend on ``DateStyle``.
    """

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection,
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django keeps SQLite's datetimes as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return self.as_sql(compiler, connection, template="(replace(%(expressions)s, ' ', 'T') || '+00:00')", **extra)


def utc_day(instant: datetime) -> date:
    """The UTC calendar day of ``instant``."""
    return instant.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    """The first instant (UTC) of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
