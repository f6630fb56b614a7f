"""OpenAPI of the diagnostics endpoint: one keyword set, applied with ``@api_operation(**openapi.DIAGNOSTICS)``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from analytics_api.kernel.openapi import Tag, error_response
from analytics_api.models import Scope
from diagnostics.checks import MAX_RTCP_REPORTS, MAX_SIP_MESSAGE_CHARS, MAX_SIP_MESSAGES
from diagnostics.selectors import NOT_VOICE

PCAP_TYPE = "application/vnd.tcpdump.pcap"

_INVITE = (
    "INVITE sip:+12513254563@gateway.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 50.19.12.248:5060;branch=z9hG4bK-1\r\n"
    "From: <sip:+14155550100@carrier.example.net>;tag=a1\r\nTo: <sip:+12513254563@gateway.example.com>\r\n"
    "Call-ID: 5f1c2a@50.19.12.248\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
)
_STATS = {"min": 4.1, "average": 4.26, "max": 4.4}
EXAMPLE = {
    "sessionId": "6630c3a1d5f0a1b2c3d4e5f6",
    "endpoints": ["50.19.12.248", "172.31.11.64", "172.31.11.62"],
    "flow": [
        {
            "type": "sip", "time": "2025-09-30T09:59:37.679Z", "offset": "+0.000s",
            "from": {"ip": "50.19.12.248", "port": 5060}, "to": {"ip": "172.31.11.64", "port": 5060},
            "direction": "50.19.12.248 → 172.31.11.64", "arrow": "→", "label": "INVITE", "message": _INVITE,
        },
        {
            "type": "rtcp", "time": "2025-09-30T09:59:42.702Z", "offset": "+5.023s",
            "from": {"ip": "172.31.11.62", "port": 40001}, "to": {"ip": "172.31.11.64", "port": 20001},
            "direction": "172.31.11.62 → 172.31.11.64", "arrow": "→", "label": "RTCP",
            "report": {"packets": 250, "octets": 40000, "highestSeq": 1250, "jitter": 2, "lsr": 3445503,
                       "mos": 4.4, "packetsLost": 0},
        },
    ],
    "qos": {
        "reports": 1,
        "overall": {"packets": {"min": 250, "average": 250, "max": 250}, "mos": {"min": 4.4, "average": 4.4,
                                                                                   "max": 4.4}},
        "connections": [{"source": "172.31.11.62", "destination": "172.31.11.64", "reports": 1,
                         "metrics": {"mos": {"min": 4.4, "average": 4.4, "max": 4.4}}}],
        "series": [{"time": "2025-09-30T09:59:42.702Z", "source": "172.31.11.62", "destination": "172.31.11.64",
                    "packets": 250, "octets": 40000, "highestSeq": 1250, "jitter": 2, "lsr": 3445503,
                    "mos": 4.4, "packetsLost": 0}],
    },
    "participants": [
        {
            "name": "Dana Reyes", "external": True, "tag": "External Agent", "status": "Left",
            "start": "2025-09-30T10:00:10.000Z", "end": "2025-09-30T10:02:40.000Z",
            "exitReason": "Transfer", "exitDescription": "Transferred the caller to billing",
            "averageMos": 4.26, "mos": _STATS, "jitter": {"min": 1, "average": 2.5, "max": 4},
            "packetsLost": {"min": 0, "average": 0.5, "max": 2},
        },
        {
            "name": "Sam Ortiz", "external": False, "tag": None, "status": "In-Call",
            "start": "2025-09-30T10:02:41.000Z", "end": "NA", "exitReason": None, "exitDescription": None,
            "averageMos": 4.3, "mos": {"min": 4.3, "average": 4.3, "max": 4.3},
            "jitter": {"min": 1, "average": 1, "max": 1}, "packetsLost": {"min": 0, "average": 0, "max": 0},
        },
    ],
}

SESSION_ID = OpenApiParameter(
    "sessionId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The conversation's sessionId."
)

DIAGNOSTICS: dict[str, Any] = {
    "operation_id": "getConversationDiagnostics",
    "tag": Tag.DIAGNOSTICS,
    "scope": Scope.CONVERSATIONS_READ.value,
    # The view answers whatever is accepted (capture tools ask for PCAP); never a 406.
    "negotiated": False,
    "summary": "A voice call's SIP flow, QoS and participants (JSON, TEXT or PCAP)",
    "description": (
        "The **Flow**: SIP messages and RTCP reports in time order, each with its offset from the first "
        "(`+0.000s`), its source and destination (IP and port), `direction` (`source → destination`) and "
        "`arrow` (`→` when it goes to an endpoint further right in `endpoints`, the column order of the "
        "flow diagram, else `←`). The **QoS**: min, average and max of packets, octets, highest sequence "
        "number, inter-arrival jitter, LSR, MOS and packets lost over the RTCP reports, overall and per "
        "connection (source IP → destination IP), and `series`, the reports in time order for a chart. "
        "The **participants**: `tag` \"External Agent\" for an external agent, `status` `In-Call` or "
        "`Left`, `end` \"NA\" while in the call, exit reason and description, and min/average/max of "
        "MOS, jitter and packets lost over their samples (`averageMos` repeats MOS's average). A metric "
        "without values has null statistics.\n\n"
        "`?format=text` downloads the flow as plain text, one line per message: UTC time, offset, "
        "`source:port → destination:port`, label. `?format=pcap` downloads a libpcap capture in which "
        "every SIP message is a UDP datagram between its endpoints at its timestamp and every RTCP "
        "report an RTCP receiver report: open it in Wireshark (Telephony → SIP Flows) or with "
        "`tshark -r`. Ingested through the `diagnostics` section of `POST /api/v1/ingest/conversations` "
        f"(at most {MAX_SIP_MESSAGES:,} SIP messages of {MAX_SIP_MESSAGE_CHARS:,} characters and "
        f"{MAX_RTCP_REPORTS:,} RTCP reports per call). A chat or e-mail conversation answers **409**; "
        "an unknown or another account's `sessionId` **404**."
    ),
    "parameters": [
        SESSION_ID,
        OpenApiParameter(
            "format", OpenApiTypes.STR, enum=["json", "text", "pcap"], required=False,
            description="`json` (default), `text` (the flow as text) or `pcap` (a capture file).",
        ),
    ],
    "responses": {
        (200, "application/json"): OpenApiResponse(
            OpenApiTypes.OBJECT, description="The diagnostics.",
            examples=[OpenApiExample("A transferred call", value=EXAMPLE)],
        ),
        (200, "text/plain"): OpenApiResponse(
            OpenApiTypes.STR, description="`?format=text`: the flow, one line per message.",
            examples=[OpenApiExample("Flow as text", value=(
                "# Call flow of conversation 6630c3a1d5f0a1b2c3d4e5f6: 2 messages\n"
                "2025-09-30T09:59:37.679Z +0.000s 50.19.12.248:5060 → 172.31.11.64:5060 INVITE\n"
                "2025-09-30T09:59:42.702Z +5.023s 172.31.11.62:40001 → 172.31.11.64:20001 RTCP\n"
            ))],
        ),
        (200, PCAP_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="`?format=pcap`: a libpcap capture."),
        400: error_response(
            "Unknown format.",
            ("Bad format", {"msg": "format must be json, text or pcap.", "code": "invalid_choice", "field": "format"}),
        ),
        404: error_response(
            "No such conversation in the caller's account (another account's is 404 too).",
            ("Unknown conversation", {
                "msg": "No conversation 'c-unknown' in this account.",
                "code": "not_found", "field": "sessionId",
            }),
        ),
        409: error_response("The conversation is not a voice call.", ("Chat", {"msg": NOT_VOICE, "code": "not_voice"})),
    },
}
