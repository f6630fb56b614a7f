"""The benchmark data set's pure parts: lengthened transcripts and cloned content rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from analytics_api.kernel.dates import render_utc_ms
from tools.bench.dataset import (
    MESSAGES_HIGH,
    MESSAGES_LOW,
    Template,
    content_row_render,
    stored_time,
    transcript_lengthen,
)

START = datetime(2026, 11, 2, 9, 30, 0, 250_000, tzinfo=UTC)


def _record(count: int) -> dict:
    return {"transcript": [
        {"id": f"m{n + 1}", "time": render_utc_ms(START.replace(second=n)), "role": ("bot", "customer")[n % 2],
         "kind": "message", "text": f"line {n}"}
        for n in range(count)
    ]}


def test_a_lengthened_transcript_keeps_the_opening_and_stays_in_time_order() -> None:
    for seed in range(20):
        record = _record(5)
        opening = [message["text"] for message in record["transcript"][:3]]
        transcript_lengthen(record, random.Random(seed))
        messages = record["transcript"]
        assert MESSAGES_LOW <= len(messages) <= MESSAGES_HIGH + 1
        assert [message["text"] for message in messages[:3]] == opening
        assert [message["text"] for message in messages[-2:]] == ["line 3", "line 4"]
        assert [message["id"] for message in messages] == [f"m{n + 1}" for n in range(len(messages))]
        times = [message["time"] for message in messages]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert times[0] == render_utc_ms(START)


def test_an_agent_conversation_is_lengthened_with_agent_answers() -> None:
    record = _record(4)
    record["transcript"][3]["role"] = "agent"
    transcript_lengthen(record, random.Random(1))
    assert "bot" not in {message["role"] for message in record["transcript"][3:]}


def test_a_cloned_row_gets_the_clone_keys_and_moved_times() -> None:
    document = Template.of(text='{"at":"2026-11-02T09:30:05.250Z","session":"s-1"}',
                           ids={"session": "s-1"}, start=START)
    slots = [("skip", None), ("conversation_pk", None), ("account", None), ("session", None), ("time", 1500),
             ("json", document), ("id", "conversation_id_text"), ("const", 7), ("now", None)]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    start_ms = int(datetime(2026, 11, 20, 12, 0, 0, 250_000, tzinfo=UTC).timestamp() * 1000)
    values = content_row_render(slots, conversation_pk=42, account_pk=3, start_ms=start_ms,
                                ids={"session": "s-9", "conversation": "C-ABC"}, now=now)
    assert values == (
        42, 3, "s-9", datetime(2026, 11, 20, 12, 0, 1, 750_000, tzinfo=UTC),
        '{"at":"2026-11-20T12:00:05.250Z","session":"s-9"}', "c-abc", 7, now,
    )


def test_stored_time_is_the_utc_millisecond_form_of_any_instant() -> None:
    rng = random.Random(3)
    for epoch_ms in [0, 999, 86_399_999, 86_400_000, *(rng.randrange(0, 4_102_444_800_000) for _ in range(2000))]:
        moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
        assert stored_time(epoch_ms) == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
