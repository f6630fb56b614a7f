"""rawdata's totalResults from the kept day counts (qualityai/day_counts.py): exact whatever was written,
moved, erased or re-thresholded since the last count, and read in a fixed number of queries."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import orjson
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from analytics_api.kernel.dates import day_start
from qualityai import day_counts, selectors
from qualityai.day_counts import day_counts_refresh
from qualityai.models import QaContact, QaDayCount, QaDayDirty, QaValueDayCount
from qualityai.selectors import (
    RawdataQuery,
    bound_values,
    contact_queryset,
    rawdata_page,
    stream_min_duration_ms,
)
from qualityai.services import contacts_ingest, stream_settings_set
from qualityai.statements import PAGE_ORDER
from qualityai.totals import contacts_count
from tests.conftest import Tenant
from tests.metrics import scrape
from tests.qualityai.conftest import ingest, ok, rawdata
from tests.qualityai.factories import ContactDocumentFactory
from tests.threads import all_at_once

pytestmark = pytest.mark.django_db

# Six days of contacts, 2026-05-01 to 2026-05-06, at 00:00, 09:30 and 23:59:59.5 of each day.
FIRST_DAY = datetime(2026, 5, 1, tzinfo=UTC)
TIMES = (timedelta(0), timedelta(hours=9, minutes=30), timedelta(hours=23, minutes=59, seconds=59, milliseconds=500))


def six_days(tenant: Tenant, prefix: str = "c") -> list[dict[str, Any]]:
    """Contacts of both directions, short, long and without a duration, on six consecutive days."""
    documents = []
    for day in range(6):
        for slot, offset in enumerate(TIMES):
            started = FIRST_DAY + timedelta(days=day) + offset
            documents.append(ContactDocumentFactory(
                conversation_id=f"{prefix}-{day}-{slot}", started=started,
                direction="outbound" if slot == 1 else "inbound",
                seconds=5 if (day + slot) % 3 == 0 else 120,
            ))
    documents.append(ContactDocumentFactory(conversation_id=f"{prefix}-no-duration", started=FIRST_DAY
                                            + timedelta(days=2, hours=3), duration=None))
    ingest(tenant, documents)
    return documents


def query(start: datetime, end: datetime, **kwargs: Any) -> RawdataQuery:
    return RawdataQuery(start=start, end=end, skip=0, limit=100, **kwargs)


def both_counts(tenant: Tenant, q: RawdataQuery) -> tuple[int, int]:
    """(the total from the kept counts, a plain COUNT of the same filter)."""
    threshold = stream_min_duration_ms(stream_id=tenant.bot.pk)
    plain = contact_queryset(stream=tenant.bot, query=q, min_duration_ms=threshold).count()
    return contacts_count(values=bound_values(stream_id=tenant.bot.pk, query=q, min_duration_ms=threshold))[0], plain


WINDOWS = [
    (FIRST_DAY, FIRST_DAY + timedelta(days=6) - timedelta(seconds=1)),  # the usual whole days, end at :59
    (FIRST_DAY, FIRST_DAY + timedelta(days=6) - timedelta(microseconds=1)),  # the end at its last microsecond
    (FIRST_DAY + timedelta(hours=5), FIRST_DAY + timedelta(days=4, hours=10)),  # partial first and last days
    (FIRST_DAY + timedelta(days=1), FIRST_DAY + timedelta(days=2)),  # exactly one day and the next midnight
    (FIRST_DAY + timedelta(days=2, hours=1), FIRST_DAY + timedelta(days=2, hours=20)),  # inside one day
    (FIRST_DAY - timedelta(days=30), FIRST_DAY + timedelta(days=30)),  # days without contacts around them
]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
@pytest.mark.parametrize(
    "filters",
    [{}, {"direction": "inbound"}, {"direction": "outbound"}, {"include_below_threshold": True},
     {"include_below_threshold": True, "direction": "outbound"}],
)
def test_the_total_from_kept_counts_equals_a_plain_count(
    tenant: Tenant, start: datetime, end: datetime, filters: dict[str, Any]
) -> None:
    six_days(tenant)
    day_counts_refresh()

    counted, plain = both_counts(tenant, query(start, end, **filters))

    assert counted == plain
    assert QaDayDirty.objects.count() == 0


def test_whole_days_are_read_from_their_kept_counts(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()
    # A count row edited behind the service's back shows that the read takes whole days from the rows;
    # without its hours, as a row counted before they were kept.
    QaDayCount.objects.filter(stream=tenant.bot, day=date(2026, 5, 3)).update(
        inbound=1_000, inbound_evaluated=1_000, hours=None
    )

    counted, plain = both_counts(tenant, query(*WINDOWS[0]))

    assert counted == plain + 1_000 - 3  # the day had 3 inbound contacts not below 10 s
    row = QaDayCount.objects.get(stream=tenant.bot, day=date(2026, 5, 3))
    threshold = stream_min_duration_ms(stream_id=tenant.bot.pk)
    _total, segments = contacts_count(values=bound_values(stream_id=tenant.bot.pk, query=query(*WINDOWS[0]),
                                                          min_duration_ms=threshold))
    whole_day = (day_start(date(2026, 5, 3)), day_start(date(2026, 5, 4)), 1_000 + row.outbound_evaluated)
    assert whole_day in [(segment.start, segment.end, segment.count) for segment in segments]


def test_a_counted_day_keeps_its_counts_by_hour_and_a_window_is_cut_by_them(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()
    rows = list(QaDayCount.objects.filter(stream=tenant.bot))
    assert len(rows) == 6
    for row in rows:
        assert sorted(row.hours) == ["inbound", "inbound_evaluated", "outbound", "outbound_evaluated"]
        assert all(len(counts) == 24 and sum(counts) == getattr(row, name) for name, counts in row.hours.items())
    may_3 = QaDayCount.objects.get(stream=tenant.bot, day=date(2026, 5, 3))
    assert may_3.hours["outbound"][9] == 1 and may_3.hours["inbound"][23] == 1  # 09:30 and 23:59:59.5
    # Edited behind the service's back: an hour's count shows that a window's segments are read from it.
    may_3.hours["inbound_evaluated"][12] += 1_000
    may_3.inbound_evaluated += 1_000
    may_3.save()

    threshold = stream_min_duration_ms(stream_id=tenant.bot.pk)
    whole_days = query(*WINDOWS[1])
    total, segments = contacts_count(values=bound_values(stream_id=tenant.bot.pk, query=whole_days,
                                                         min_duration_ms=threshold))

    assert total == both_counts(tenant, whole_days)[1] + 1_000
    [day] = [segment for segment in segments if segment.start == day_start(date(2026, 5, 3))]
    noon = day.start + timedelta(hours=12)
    parts = [(part.start, part.end, part.count) for part in day.parts()]
    assert (noon, noon + timedelta(hours=1), 1_000) in parts
    assert all(end - start == timedelta(hours=1) and count for start, end, count in parts)
    assert sorted(parts) == parts and sum(count for *_, count in parts) == day.count
    # Hours that no longer add up to the day's count (edited by hand) are not used: the day is one part.
    may_3.hours["inbound_evaluated"][12] = 0
    may_3.save()
    [day] = [segment for segment in contacts_count(values=bound_values(
        stream_id=tenant.bot.pk, query=whole_days, min_duration_ms=threshold))[1]
        if segment.start == day_start(date(2026, 5, 3))]
    assert day.parts() == [day]
    # Nor hours missing a column or an hour.
    for broken in ({"inbound": [0] * 24}, {**may_3.hours, "inbound_evaluated": [0] * 23}):
        QaDayCount.objects.filter(pk=may_3.pk).update(hours=broken)
        [day] = [segment for segment in contacts_count(values=bound_values(
            stream_id=tenant.bot.pk, query=whole_days, min_duration_ms=threshold))[1]
            if segment.start == day_start(date(2026, 5, 3))]
        assert day.parts() == [day]


def test_a_day_written_after_its_count_is_counted_contact_by_contact_until_the_next_refresh(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()
    ingest(tenant, [ContactDocumentFactory(conversation_id="late", started=FIRST_DAY + timedelta(days=3, hours=2))])

    assert list(QaDayDirty.objects.values_list("day", flat=True)) == [date(2026, 5, 4)]
    assert both_counts(tenant, query(*WINDOWS[0])) == (13, 13)

    assert day_counts_refresh() == 1
    assert both_counts(tenant, query(*WINDOWS[0])) == (13, 13)
    row = QaDayCount.objects.get(stream=tenant.bot, day=date(2026, 5, 4))
    assert (row.inbound, row.inbound_evaluated) == (3, 2)
    assert QaDayDirty.objects.count() == 0


def test_a_contact_moved_to_another_day_leaves_its_old_day_and_reaches_the_new_one(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()
    moved = ContactDocumentFactory(conversation_id="c-1-1", started=FIRST_DAY + timedelta(days=4, hours=12),
                                   direction="outbound", seconds=120)

    ingest(tenant, [moved])

    assert sorted(QaDayDirty.objects.values_list("day", flat=True)) == [date(2026, 5, 2), date(2026, 5, 5)]
    day_counts_refresh()
    outbound = dict(QaDayCount.objects.filter(stream=tenant.bot).values_list("day", "outbound"))
    assert (outbound[date(2026, 5, 2)], outbound[date(2026, 5, 5)]) == (0, 2)
    assert both_counts(tenant, query(*WINDOWS[0], direction="outbound")) == (4, 4)


def test_a_day_left_without_contacts_loses_its_row(tenant: Tenant) -> None:
    ingest(tenant, [ContactDocumentFactory(conversation_id="only", started=FIRST_DAY + timedelta(hours=1))])
    day_counts_refresh()
    assert QaDayCount.objects.filter(stream=tenant.bot, day=date(2026, 5, 1)).exists()

    ingest(tenant, [ContactDocumentFactory(conversation_id="only", started=FIRST_DAY + timedelta(days=1, hours=1))])
    day_counts_refresh()

    assert list(QaDayCount.objects.filter(stream=tenant.bot).values_list("day", flat=True)) == [date(2026, 5, 2)]


def test_a_new_minimum_duration_is_served_at_once_and_counted_again(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()

    stream_settings_set(stream=tenant.bot, min_duration_seconds=200)

    assert QaDayDirty.objects.filter(stream=tenant.bot).count() == 6
    # Only the contact without a duration is not below 200 s.
    assert both_counts(tenant, query(*WINDOWS[0])) == (1, 1)
    day_counts_refresh()
    assert set(QaDayCount.objects.filter(stream=tenant.bot).values_list("threshold_ms", flat=True)) == {200_000}
    assert both_counts(tenant, query(*WINDOWS[0])) == (1, 1)
    assert both_counts(tenant, query(*WINDOWS[0], include_below_threshold=True)) == (18, 18)


def test_a_count_under_an_older_minimum_serves_only_totals_with_below_threshold_contacts(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()
    # As if the settings changed between the read of the marks and the read of the counts.
    QaDayCount.objects.update(threshold_ms=1)

    assert both_counts(tenant, query(*WINDOWS[0])) == (12, 12)
    assert both_counts(tenant, query(*WINDOWS[0], include_below_threshold=True)) == (18, 18)


def test_a_write_during_a_refresh_keeps_its_mark(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    six_days(tenant)
    real = day_counts.stream_min_duration_ms
    written = []

    def threshold_then_write(*, stream_id: int) -> int:
        # Between reading the day's marks and counting it: a contact of the same day arrives.
        if not written:
            written.append(1)
            ingest(tenant, [ContactDocumentFactory(conversation_id="during", started=FIRST_DAY + timedelta(hours=4))])
        return real(stream_id=stream_id)

    monkeypatch.setattr(day_counts, "stream_min_duration_ms", threshold_then_write)
    day_counts_refresh(limit=1)

    assert QaDayDirty.objects.filter(day=date(2026, 5, 1)).count() == 1
    assert both_counts(tenant, query(*WINDOWS[0])) == (13, 13)


def test_another_streams_contacts_never_reach_the_total(tenant: Tenant, outsider: Tenant) -> None:
    six_days(tenant)
    six_days(outsider, prefix="o")
    ingest(outsider, [ContactDocumentFactory(conversation_id="o-extra", started=FIRST_DAY + timedelta(days=2))])
    day_counts_refresh()

    assert both_counts(tenant, query(*WINDOWS[0])) == (12, 12)
    assert both_counts(outsider, query(*WINDOWS[0])) == (13, 13)


def test_rawdata_reads_a_long_window_in_a_fixed_number_of_queries(
    tenant: Tenant, django_assert_num_queries: Any
) -> None:
    six_days(tenant)
    day_counts_refresh()
    body = {"offset": 0, "limit": 5, "startDate": "2026-04-01 00:00:00", "endDate": "2026-05-31 23:59:59"}
    rawdata(tenant, body)  # warm up anything cached per process

    # stream (404 check), stream settings, marks, kept counts, the uncounted days' COUNT, page, recording links.
    with django_assert_num_queries(7):
        result = ok(rawdata(tenant, body))

    assert (result["totalResults"], result["totalPages"], len(result["results"])) == (13, 3, 5)


@pytest.mark.parametrize(("offset", "statements"), [(0, 8), (600, 10)])
def test_rawdata_with_one_custom_field_reads_any_window_in_a_fixed_number_of_queries(
    tenant: Tenant, django_assert_num_queries: Any, offset: int, statements: int
) -> None:
    documents = [
        # One day of contacts: a deep page's first contact is deep inside one kept day.
        ContactDocumentFactory(conversation_id=f"v-{number:04d}", started=FIRST_DAY + timedelta(minutes=number),
                               custom_fields={"Region": ("US", "UK")[number % 2]})
        for number in range(1_250)
    ]
    ingest(tenant, documents)
    day_counts_refresh()
    body = {"offset": offset, "limit": 5, "startDate": "2026-04-01 00:00:00", "endDate": "2026-05-31 23:59:59",
            "custom_fields": {"Region": ["US"]}}
    rawdata(tenant, body)  # warm up anything cached per process

    # As without custom fields, and the value counts; a deep page adds where its first contact starts
    # and how many of the segment's contacts start before it.
    with django_assert_num_queries(statements):
        result = ok(rawdata(tenant, body))

    assert (result["totalResults"], len(result["results"])) == (625, 5)
    assert result["results"][0]["Conversation ID"] == f"v-{2 * offset:04d}"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_custom_value_statements_are_planned_for_their_values_the_plain_ones_prepared(tenant: Tenant) -> None:
    # A generic plan for a custom value fits none: a rare value and one on every contact want opposite
    # plans (rawdata with custom_fields went from 18 to 805 ms when its statements were prepared).
    six_days_with_custom_fields(tenant)
    day_counts_refresh()
    window = {"startDate": "2026-05-01 05:00:00", "endDate": "2026-05-05 10:00:00", "offset": 0, "limit": 5}

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    ok(rawdata(tenant, {**window, "custom_fields": {"Region": ["US", "UK"]}}))
    assert not [sql for sql in prepared() if "qualityai_qacontact" in sql or '"started_at" >=' in sql]
    ok(rawdata(tenant, window))
    assert len([sql for sql in prepared() if 'FROM "qualityai_qacontact"' in sql]) == 2  # edge days' COUNT, page


def test_rebuild_counts_contacts_written_around_the_service(tenant: Tenant) -> None:
    six_days(tenant)
    day_counts_refresh()
    QaContact.objects.filter(conversation_id="c-5-0").update(started_at=FIRST_DAY + timedelta(days=3, hours=1))
    out = StringIO()

    call_command("qa_day_counts", "--rebuild", "--stream", tenant.bot.bot_id, stdout=out)

    assert out.getvalue() == "Marked 6 stream days.\nCounted 6 stream days.\n"
    assert QaDayCount.objects.get(stream=tenant.bot, day=date(2026, 5, 6)).inbound == 1
    assert QaDayCount.objects.get(stream=tenant.bot, day=date(2026, 5, 4)).inbound == 3


def test_the_command_refreshes_marked_days_and_refuses_a_stream_without_rebuild(tenant: Tenant) -> None:
    six_days(tenant)
    out = StringIO()

    call_command("qa_day_counts", stdout=out)

    assert out.getvalue() == "Counted 6 stream days.\n"
    assert QaDayDirty.objects.count() == 0
    with pytest.raises(CommandError) as refused:
        call_command("qa_day_counts", "--stream", tenant.bot.bot_id)
    assert str(refused.value) == "--stream goes with --rebuild; without it every marked day is counted."


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL")
def test_counts_stay_exact_while_batches_and_refreshes_race(tenant: Tenant) -> None:
    """Batches that add contacts and move others between days, raced against two refreshes at a time."""
    window = query(FIRST_DAY, FIRST_DAY + timedelta(days=6) - timedelta(microseconds=1), include_below_threshold=True)

    def batch(round_number: int, first: int, days: tuple[int, int]) -> Callable[[], Any]:
        # Ids overlap between rounds: a later round moves the earlier ones to its own days.
        documents = [
            ContactDocumentFactory(
                conversation_id=f"r-{(round_number * 40 + first + number) % 120}",
                started=FIRST_DAY + timedelta(days=days[number % 2], minutes=number),
            )
            for number in range(60)
        ]
        return functools.partial(contacts_ingest, stream=tenant.bot, records=documents)

    for round_number in range(6):
        all_at_once([
            batch(round_number, 0, (round_number % 6, (round_number + 1) % 6)),
            batch(round_number, 30, ((round_number + 3) % 6, (round_number + 4) % 6)),
            day_counts_refresh,
            day_counts_refresh,
        ])
        assert both_counts(tenant, window)[0] == both_counts(tenant, window)[1]

    day_counts_refresh()
    kept = {
        row.day: row.inbound + row.outbound for row in QaDayCount.objects.filter(stream=tenant.bot)
    }
    plain = {
        day: QaContact.objects.filter(
            stream=tenant.bot, started_at__gte=day_start(day), started_at__lt=day_start(day + timedelta(days=1))
        ).count()
        for day in kept
    }
    assert kept == plain and sum(kept.values()) == QaContact.objects.filter(stream=tenant.bot).count()
    assert QaDayDirty.objects.count() == 0


def six_days_with_custom_fields(tenant: Tenant) -> None:
    """``six_days`` with a Region (3 values) and a Tier (4 values) on every contact, then updates that
    change a direction and a duration and drop one contact's custom fields."""
    documents = six_days(tenant)
    for number, document in enumerate(documents):
        document["custom_fields"] = {"Region": ("US", "UK", "IN")[number % 3], "Tier": number % 4}
    documents[0]["contactDirection"] = "outbound"
    documents[1]["Duration"] = "1000 milliseconds"
    documents[2]["custom_fields"] = {}
    ingest(tenant, documents)


@pytest.mark.parametrize("refreshed", [False, True])
@pytest.mark.parametrize("window", [WINDOWS[0], WINDOWS[2], WINDOWS[5]])
@pytest.mark.parametrize(
    "filters",
    [{}, {"direction": "inbound"}, {"direction": "outbound"}, {"include_below_threshold": True}],
)
@pytest.mark.parametrize("custom_fields", [{"Region": ["US"]}, {"Region": ["US", "UK"]}, {"Tier": ["2"]}])
def test_a_one_key_custom_fields_total_equals_a_plain_count(
    tenant: Tenant, filters: dict[str, Any], custom_fields: dict[str, list[str]], window: tuple[datetime, datetime],
    refreshed: bool,
) -> None:
    six_days_with_custom_fields(tenant)
    if refreshed:
        day_counts_refresh()
        assert QaDayDirty.objects.count() == 0

    counted, plain = both_counts(tenant, query(*window, custom_fields=custom_fields, **filters))

    assert counted == plain


def test_the_refresh_keeps_each_custom_field_values_count_by_direction(tenant: Tenant) -> None:
    six_days_with_custom_fields(tenant)

    day_counts_refresh()

    # 2026-05-01: contacts 0 (US, tier 0, now outbound, 5 s), 1 (UK, tier 1, outbound, now 1 s), 2 (no custom fields).
    kept = {
        (row.key, row.value): (row.inbound, row.inbound_evaluated, row.outbound, row.outbound_evaluated)
        for row in QaValueDayCount.objects.filter(stream=tenant.bot, day=date(2026, 5, 1))
    }
    assert kept == {
        ("Region", "US"): (0, 0, 1, 0), ("Region", "UK"): (0, 0, 1, 0),
        ("Tier", "0"): (0, 0, 1, 0), ("Tier", "1"): (0, 0, 1, 0),
    }
    assert QaValueDayCount.objects.filter(stream=tenant.bot).count() == 4 + 5 * 6  # 3 regions and 3 tiers a day


def test_one_key_totals_read_whole_days_from_the_value_counts(tenant: Tenant) -> None:
    six_days_with_custom_fields(tenant)
    day_counts_refresh()
    # A count edited behind the service's back shows that whole days are read from the kept rows.
    QaValueDayCount.objects.filter(stream=tenant.bot, day=date(2026, 5, 3), key="Region", value="US").update(
        inbound_evaluated=F("inbound_evaluated") + 1_000
    )

    counted, plain = both_counts(tenant, query(*WINDOWS[0], custom_fields={"Region": ["US", "IN"]}))

    assert counted == plain + 1_000


@pytest.mark.parametrize("custom_fields", [{"Region": ["US", "UK"]}, {"Tier": ["1", "3"]}])
def test_a_key_with_too_many_values_keeps_one_row_without_a_value_and_stays_exact(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, custom_fields: dict[str, list[str]]
) -> None:
    # Both keys have 3 values a day, except on the first day, whose third contact has no custom fields.
    monkeypatch.setattr(day_counts, "VALUE_COUNTS_PER_KEY", 2)
    six_days_with_custom_fields(tenant)

    day_counts_refresh()

    tiers = QaValueDayCount.objects.filter(stream=tenant.bot, day=date(2026, 5, 3), key="Tier")
    assert list(tiers.values_list("value", flat=True)) == [None]
    assert sorted(QaValueDayCount.objects.filter(
        stream=tenant.bot, day=date(2026, 5, 1), key="Region").values_list("value", flat=True)) == ["UK", "US"]
    for window in (WINDOWS[0], WINDOWS[2]):
        counted, plain = both_counts(tenant, query(*window, custom_fields=custom_fields))
        assert counted == plain


def test_a_new_minimum_duration_counts_the_value_counts_again(tenant: Tenant) -> None:
    six_days_with_custom_fields(tenant)
    day_counts_refresh()

    stream_settings_set(stream=tenant.bot, min_duration_seconds=200)
    # Every contact is shorter than 200 s but the one without a duration (Region US, Tier 2).
    assert both_counts(tenant, query(*WINDOWS[0], custom_fields={"Region": ["US"]})) == (1, 1)

    day_counts_refresh()
    evaluated = QaValueDayCount.objects.filter(stream=tenant.bot).exclude(inbound_evaluated=0, outbound_evaluated=0)
    assert sorted(evaluated.values_list("day", "key", "value")) == [
        (date(2026, 5, 3), "Region", "US"), (date(2026, 5, 3), "Tier", "2")
    ]
    assert both_counts(tenant, query(*WINDOWS[0], custom_fields={"Region": ["US"]})) == (1, 1)


@pytest.mark.parametrize("together", [1, 4])
@pytest.mark.parametrize("custom_fields", [{}, {"Region": ["US", "UK"]}])
@pytest.mark.parametrize("skip", [500, 599, 600, 731, 1_000, 1_199, 1_200, 1_250])
def test_a_deep_page_starts_from_its_segment_and_is_the_page_offset_reads(
    tenant: Tenant, skip: int, custom_fields: dict[str, list[str]], together: int
) -> None:
    """1,250 contacts over six days: kept counts, a day written since its count, partial edge days;
    with ``together`` contacts starting at the same instant (ordered by conversation id), pages begin
    inside such groups."""
    documents = [
        ContactDocumentFactory(conversation_id=f"d-{number:04d}",
                               started=FIRST_DAY + timedelta(minutes=7 * (number // together)),
                               seconds=5 if number % 5 == 0 else 60,
                               custom_fields={"Region": ("US", "UK", "IN")[number % 3 % 2 * 2 if number % 7 else 1]})
        for number in range(1_250)
    ]
    ingest(tenant, documents)
    day_counts_refresh()
    ingest(tenant, [ContactDocumentFactory(conversation_id="late", started=FIRST_DAY + timedelta(days=2, hours=5))])
    q = RawdataQuery(start=FIRST_DAY + timedelta(hours=3), end=FIRST_DAY + timedelta(days=5, hours=20), skip=skip,
                     limit=50, custom_fields=custom_fields)
    threshold = stream_min_duration_ms(stream_id=tenant.bot.pk)
    ordered = contact_queryset(stream=tenant.bot, query=q, min_duration_ms=threshold).order_by(*PAGE_ORDER)
    expected = list(ordered.values_list("conversation_id", flat=True)[skip : skip + 50])

    page = rawdata_page(account=tenant.account, stream=tenant.bot, query=q)

    assert [result["Conversation ID"] for result in orjson.loads(orjson.dumps(page.results))] == expected
    assert page.total == ordered.count() and page.has_more == (skip + 50 < page.total)
    values = bound_values(stream_id=tenant.bot.pk, query=q, min_duration_ms=threshold)
    assert len(contacts_count(values=values)[1]) > 3  # counted by segment


@pytest.mark.parametrize(("skip", "hour"), [(550, 9), (599, 9), (600, 10), (650, 10), (1_150, 10), (1_210, 14)])
def test_a_deep_page_in_a_busy_hour_walks_that_hour_alone_and_is_the_page_offset_reads(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, skip: int, hour: int
) -> None:
    """1,200 contacts of May 3 at 09:00–10:59 (one every 6 s), 20 at 14:00 and a day around them: a
    page deep inside an hour finds its first contact among that hour's contacts only."""
    busy = day_start(date(2026, 5, 3)) + timedelta(hours=9)
    documents = [
        ContactDocumentFactory(conversation_id=f"b-{number:04d}", started=busy + timedelta(seconds=6 * number),
                               seconds=60)
        for number in range(1_200)
    ]
    documents += [
        ContactDocumentFactory(conversation_id=f"q-{number:02d}", started=busy + timedelta(hours=5, minutes=number),
                               seconds=60)
        for number in range(20)
    ]
    ingest(tenant, documents)
    day_counts_refresh()
    calls: list[dict[str, Any]] = []
    original = selectors.PAGE_ROWS.rows
    monkeypatch.setattr(selectors.PAGE_ROWS, "rows", lambda **kwargs: calls.append(kwargs) or original(**kwargs))
    q = RawdataQuery(start=FIRST_DAY, end=FIRST_DAY + timedelta(days=6), skip=skip, limit=50)
    threshold = stream_min_duration_ms(stream_id=tenant.bot.pk)
    ordered = contact_queryset(stream=tenant.bot, query=q, min_duration_ms=threshold).order_by(*PAGE_ORDER)
    expected = list(ordered.values_list("conversation_id", flat=True)[skip : skip + 50])

    page = rawdata_page(account=tenant.account, stream=tenant.bot, query=q)

    assert [result["Conversation ID"] for result in orjson.loads(orjson.dumps(page.results))] == expected
    start = day_start(date(2026, 5, 3)) + timedelta(hours=hour)
    assert calls[0]["page_from"] == start
    if skip % 600 >= 500:  # far enough inside its hour: the key is found among the hour's contacts
        assert calls[0]["page_to"] == start + timedelta(hours=1) and calls[0]["fixed"]["key_only"]


def test_the_behind_gauge_is_the_age_of_the_oldest_mark_not_yet_counted(tenant: Tenant) -> None:
    gauge = "analytics_qa_day_counts_behind_seconds"
    with time_machine.travel(FIRST_DAY, tick=False):
        assert scrape().value(gauge) == 0
        ingest(tenant, [ContactDocumentFactory(conversation_id="first", started=FIRST_DAY)])
    with time_machine.travel(FIRST_DAY + timedelta(minutes=20), tick=False):
        ingest(tenant, [ContactDocumentFactory(conversation_id="second", started=FIRST_DAY + timedelta(days=1))])
        assert scrape().value(gauge) == 1_200
        day_counts_refresh()
        assert scrape().value(gauge) == 0


@pytest.mark.parametrize("custom_fields", [{}, {"Region": ["US"]}])
def test_a_window_at_the_calendars_end_is_counted_without_day_arithmetic(
    tenant: Tenant, custom_fields: dict[str, list[str]]
) -> None:
    six_days(tenant)
    end = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

    counted, plain = both_counts(tenant, query(FIRST_DAY, end, custom_fields=custom_fields))
    assert counted == plain == 13
    assert both_counts(tenant, query(end - timedelta(days=6), end, custom_fields=custom_fields)) == (0, 0)
