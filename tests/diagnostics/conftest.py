"""A fixed call: carrier → gateway → media server, three RTCP reports, two participants."""

from __future__ import annotations

from typing import Any

import pytest

from content.models import Conversation
from diagnostics.checks import diagnostics_check
from diagnostics.services import diagnostics_replace
from tests.content.factories import ConversationFactory

CARRIER, GATEWAY, MEDIA = "50.19.12.248", "172.31.11.64", "172.31.11.62"


def sip(time: str, src: str, dst: str, label: str, first_line: str) -> dict[str, Any]:
    message = f"{first_line}\r\nCall-ID: 5f1c2a@{CARRIER}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    return {"time": time, "from": {"ip": src, "port": 5060}, "to": {"ip": dst, "port": 5060},
            "label": label, "message": message}


def rtcp(time: str, src: str, dst: str, **metrics: Any) -> dict[str, Any]:
    return {"time": time, "from": {"ip": src, "port": 40001}, "to": {"ip": dst, "port": 20001}, **metrics}


CALL: dict[str, Any] = {
    "endpoints": [CARRIER, GATEWAY, MEDIA, GATEWAY],
    "sip": [
        sip("2025-09-30T10:00:00.000Z", CARRIER, GATEWAY, "INVITE", "INVITE sip:+12513254563@gw.example.com SIP/2.0"),
        sip("2025-09-30T10:00:00.012Z", GATEWAY, CARRIER, "100 Trying", "SIP/2.0 100 Trying"),
        sip("2025-09-30T10:00:01.500Z", GATEWAY, CARRIER, "200 OK", "SIP/2.0 200 OK"),
        sip("2025-09-30T10:00:01.520Z", CARRIER, GATEWAY, "ACK", "ACK sip:+12513254563@gw.example.com SIP/2.0"),
        sip("2025-09-30T10:01:00.250+00:00", CARRIER, GATEWAY, "BYE", "BYE sip:+12513254563@gw.example.com SIP/2.0"),
    ],
    "rtcp": [
        rtcp("2025-09-30T10:00:05.000Z", MEDIA, GATEWAY, packets=100, octets=16000, highestSeq=500, jitter=2,
             lsr=1000, mos=4.4, packetsLost=0),
        rtcp("2025-09-30T10:00:10.000Z", MEDIA, GATEWAY, packets=300, octets=48000, highestSeq=800, jitter=4,
             lsr=3000, mos=3.9, packetsLost=3),
        # Another connection, and a report without LSR: its statistics skip it.
        rtcp("2025-09-30T10:00:07.000Z", CARRIER, GATEWAY, packets=200, octets=32000, highestSeq=600, jitter=0,
             mos=2.5, packetsLost=1),
    ],
    "participants": [
        {"name": "Dana Reyes", "external": True, "start": "2025-09-30T10:00:02.000Z",
         "end": "2025-09-30T10:00:40.000Z", "exitReason": "Transfer", "exitDescription": "Sent to billing",
         "samples": [{"time": "2025-09-30T10:00:05.000Z", "mos": 4.0, "jitter": 2, "packetsLost": 0},
                     {"time": "2025-09-30T10:00:10.000Z", "mos": 3.0, "jitter": 6, "packetsLost": 4}]},
        {"name": "Sam Ortiz", "start": "2025-09-30T10:00:41.000Z", "samples": []},
    ],
}


def store(conversation: Conversation, section: dict[str, Any]) -> None:
    diagnostics_replace(
        account_id=conversation.account_id,
        sections={conversation.pk: (conversation.started_at, diagnostics_check(section))},
    )


@pytest.fixture
def call(tenant: Any) -> Conversation:
    conversation = ConversationFactory(account=tenant.account, channel="voice", session_id="call-1")
    store(conversation, CALL)
    return conversation


def path(session_id: str, query: str = "") -> str:
    return f"/api/v1/conversations/{session_id}/diagnostics{query}"
