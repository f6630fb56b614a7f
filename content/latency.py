"""Voice-turn latency (docs/contract.md#conversation-latency): four metrics per turn, four statistics per metric.

Per turn, in milliseconds:

- ASR = asrTranscriptReturned − userStoppedSpeaking
- Bot = botResponseReceived − transcriptSentToBot
- TTS = firstAudioByteReceived − ttsRequested
- End-to-end = firstAudioHeard − userStoppedSpeaking

A metric whose two times are not both known is null for that turn and left out of the statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

TIMES = (
    "userStoppedSpeaking", "asrTranscriptReturned", "transcriptSentToBot", "botResponseReceived",
    "ttsRequested", "firstAudioByteReceived", "firstAudioHeard",
)
# metric → (from, to)
METRICS: dict[str, tuple[str, str]] = {
    "asrMs": ("userStoppedSpeaking", "asrTranscriptReturned"),
    "botMs": ("transcriptSentToBot", "botResponseReceived"),
    "ttsMs": ("ttsRequested", "firstAudioByteReceived"),
    "endToEndMs": ("userStoppedSpeaking", "firstAudioHeard"),
}
STATISTICS = ("min", "average", "p90", "max")
CSV_HEADER = ("turn", *TIMES, *METRICS)
_MS = timedelta(milliseconds=1)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def turn_latency(turn: Mapping[str, Any]) -> dict[str, Any]:
    """One turn's number and its four metrics (null where a time is missing)."""
    times = {name: _instant(turn.get(name)) for name in TIMES}
    latency: dict[str, Any] = {"turn": turn.get("turn")}
    for metric, (start, end) in METRICS.items():
        began, ended = times[start], times[end]
        latency[metric] = _half_up((ended - began) / _MS) if began is not None and ended is not None else None
    return latency


def statistics(values: Sequence[int]) -> dict[str, int | None]:
    """min, average (rounded to the millisecond), p90 (nearest rank) and max; nulls without values."""
    if not values:
        return dict.fromkeys(STATISTICS)
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "average": _half_up(sum(ordered) / len(ordered)),
        "p90": ordered[math.ceil(0.9 * len(ordered)) - 1],
        "max": ordered[-1],
    }


def latency_report(turns: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every turn's metrics, then each metric's statistics over the turns that have it."""
    per_turn = [turn_latency(turn) for turn in turns]
    summary = {
        metric: statistics([row[metric] for row in per_turn if row[metric] is not None]) for metric in METRICS
    }
    return {"turns": per_turn, "summary": summary}


def latency_csv_rows(turns: Sequence[Mapping[str, Any]], report: Mapping[str, Any]) -> Iterator[list[Any]]:
    """Under :data:`CSV_HEADER`: a row per turn (its times and metrics), then a row per statistic."""
    for turn, row in zip(turns, report["turns"], strict=True):
        yield [row["turn"], *(turn.get(name) for name in TIMES), *(row[metric] for metric in METRICS)]
    for statistic in STATISTICS:
        yield [statistic, *([None] * len(TIMES)), *(report["summary"][metric][statistic] for metric in METRICS)]
