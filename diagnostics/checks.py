"""The ``diagnostics`` section of a conversation record: the validation kit's checks and their caps.

Caps keep one record's section within what a call produces (a long call with a transfer has a few
dozen SIP messages and an RTCP report every 5 seconds per direction) while refusing a document that
would make one conversation cost megabytes to store and serve.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.validation import (
    Check,
    aware_time,
    invalid,
    is_number,
    list_of,
    obj,
    strict,
    strict_text,
    then,
    whole_number,
)

MAX_ENDPOINTS = 32
MAX_SIP_MESSAGES = 1_000
MAX_SIP_MESSAGE_CHARS = 16_384  # a SIP message travels in one UDP datagram; 16 KB is far above real ones
MAX_LABEL_CHARS = 100
MAX_RTCP_REPORTS = 10_000  # one report every 5 s per direction: about 7 hours of call
MAX_PARTICIPANTS = 50
MAX_SAMPLES = 10_000
MAX_NAME_CHARS = 200
MAX_REASON_CHARS = 200
MAX_DESCRIPTION_CHARS = 1_000
MAX_MOS = 5.0  # ITU-T P.800's scale: 1 (bad) to 5 (excellent); 0 when no audio was measured
# RTCP's cumulative number of packets lost is a signed 24-bit field (duplicates can make it negative).
MIN_PACKETS_LOST = -(2**23)
MAX_PACKETS_LOST = 2**23 - 1
MAX_UINT32 = 2**32 - 1


def _ip(data: Any) -> str:
    if not isinstance(data, str):
        raise invalid("ip must be an IPv4 or IPv6 address such as 172.31.11.64.")
    try:
        return str(ipaddress.ip_address(data.strip()))
    except ValueError:
        raise invalid("ip must be an IPv4 or IPv6 address such as 172.31.11.64.") from None


def _bound(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _number(name: str, *, minimum: float, maximum: float) -> Check:
    message = f"{name} must be a number from {_bound(minimum)} to {_bound(maximum)}."

    def check(data: Any) -> float:
        if not is_number(data):
            raise invalid(message)
        if not minimum <= data <= maximum:
            raise invalid(message, "out_of_range")
        return data

    return check


def _time(name: str) -> Check:
    # Stored as the contract's UTC text, so the document reads back as it is served.
    message = "{name} {reason}; send an ISO-8601 time with its zone, e.g. 2025-09-30T10:00:05.000Z."
    return then(aware_time(name=name, message=message), render_utc_ms)


_ENDPOINT = obj(
    {"ip": _ip, "port": whole_number("port", minimum=1, maximum=65_535)},
    required=("ip", "port"), open_=True, named=True, keep_unknown=False,
)

_SIP = obj(
    {
        "time": _time("time"),
        "from": _ENDPOINT,
        "to": _ENDPOINT,
        "label": strict_text("label", max_length=MAX_LABEL_CHARS, allow_blank=False),
        "message": strict_text("message", max_length=MAX_SIP_MESSAGE_CHARS),
    },
    required=("time", "from", "to", "label"), named=True, keep_unknown=False,
)

_RTCP = obj(
    {
        "time": _time("time"),
        "from": _ENDPOINT,
        "to": _ENDPOINT,
        "packets": whole_number("packets", minimum=0, maximum=MAX_UINT32),
        "octets": whole_number("octets", minimum=0, maximum=MAX_UINT32),
        "highestSeq": whole_number("highestSeq", minimum=0, maximum=MAX_UINT32),
        "jitter": _number("jitter", minimum=0, maximum=MAX_UINT32),
        "lsr": _number("lsr", minimum=0, maximum=MAX_UINT32),
        "mos": _number("mos", minimum=0, maximum=MAX_MOS),
        "packetsLost": whole_number("packetsLost", minimum=MIN_PACKETS_LOST, maximum=MAX_PACKETS_LOST),
    },
    required=("time", "from", "to"), named=True, keep_unknown=False,
)

_SAMPLE = obj(
    {
        "time": _time("time"),
        "mos": _number("mos", minimum=0, maximum=MAX_MOS),
        "jitter": _number("jitter", minimum=0, maximum=MAX_UINT32),
        "packetsLost": whole_number("packetsLost", minimum=MIN_PACKETS_LOST, maximum=MAX_PACKETS_LOST),
    },
    required=("time",), named=True, keep_unknown=False,
)

_PARTICIPANT = obj(
    {
        "name": strict_text("name", max_length=MAX_NAME_CHARS, allow_blank=False),
        "external": strict("external", lambda data: isinstance(data, bool), "true or false"),
        "start": _time("start"),
        "end": _time("end"),
        "exitReason": strict_text("exitReason", max_length=MAX_REASON_CHARS),
        "exitDescription": strict_text("exitDescription", max_length=MAX_DESCRIPTION_CHARS),
        "samples": list_of(
            _SAMPLE, max_length=MAX_SAMPLES,
            too_many=f"samples may hold at most {MAX_SAMPLES:,} items.", not_a_list="samples must be a list.",
        ),
    },
    required=("name", "start"), named=True, keep_unknown=False,
)


def _items(name: str, child: Check, cap: int) -> Check:
    return list_of(
        child, max_length=cap,
        too_many=f"{name} may hold at most {cap:,} items; send the first {cap:,} or split the call.",
        not_a_list=f"{name} must be a list.",
    )


def _end_not_before_start(participant: dict[str, Any]) -> dict[str, Any]:
    end = participant.get("end")
    if end is not None and end < participant["start"]:
        raise invalid("end must not be before start.")
    return participant


diagnostics_check: Check = obj(
    {
        "endpoints": _items("endpoints", _ip, MAX_ENDPOINTS),
        "sip": _items("sip", _SIP, MAX_SIP_MESSAGES),
        "rtcp": _items("rtcp", _RTCP, MAX_RTCP_REPORTS),
        "participants": _items("participants", then(_PARTICIPANT, _end_not_before_start), MAX_PARTICIPANTS),
    },
    named=True, keep_unknown=False,
)
"""The ``diagnostics`` section: its four lists, each optional, every item checked; unknown keys dropped."""
