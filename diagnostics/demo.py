"""Plausible diagnostics for the demo account's voice calls (deterministic for a seed).

Every call: INVITE / 100 Trying / 200 OK / ACK from the carrier through the gateway to the media
server, RTCP reports every 5 seconds each way, BYE at the end. One call in seven has degraded audio
(low MOS, jitter, packet loss); one in five had an external agent who left early.
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta
from typing import Any

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.models import Account
from content.models import Conversation
from diagnostics.checks import diagnostics_check
from diagnostics.services import diagnostics_replace

CARRIER, GATEWAY, MEDIA = "50.19.12.248", "172.31.11.64", "172.31.11.62"
SIP_PORT = 5060
MEDIA_SIDE, GATEWAY_SIDE = (MEDIA, 40001), (GATEWAY, 20001)  # the RTP/RTCP ports of each side
MAX_DEMO_REPORTS = 60  # per direction: the first five minutes of a long call are plenty for a demo


def _sip(at: datetime, src: str, dst: str, label: str, first_line: str, call_id: str, cseq: str) -> dict[str, Any]:
    branch = f"z9hG4bK{zlib.crc32((call_id + cseq).encode()):08x}"
    message = (
        f"{first_line}\r\nVia: SIP/2.0/UDP {src}:{SIP_PORT};branch={branch}\r\n"
        f"From: <sip:+14155550100@carrier.example.net>;tag=c{call_id[:6]}\r\n"
        f"To: <sip:+18005550199@gateway.example.com>\r\nCall-ID: {call_id}@{CARRIER}\r\nCSeq: {cseq}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    return {"time": render_utc_ms(at), "from": {"ip": src, "port": SIP_PORT}, "to": {"ip": dst, "port": SIP_PORT},
            "label": label, "message": message}


def diagnostics_demo_section(*, call_id: str, start: datetime, end: datetime, rng: random.Random,
                             degraded: bool, external_left: bool) -> dict[str, Any]:
    """One call's section, in the shape ingestion takes."""
    answer = start + timedelta(milliseconds=rng.randint(800, 2500))
    invite = "INVITE sip:+18005550199@gateway.example.com SIP/2.0"
    sip = [
        _sip(start, CARRIER, GATEWAY, "INVITE", invite, call_id, "1 INVITE"),
        _sip(start + timedelta(milliseconds=rng.randint(5, 30)), GATEWAY, CARRIER, "100 Trying",
             "SIP/2.0 100 Trying", call_id, "1 INVITE"),
        _sip(answer, GATEWAY, CARRIER, "200 OK", "SIP/2.0 200 OK", call_id, "1 INVITE"),
        _sip(answer + timedelta(milliseconds=rng.randint(10, 40)), CARRIER, GATEWAY, "ACK",
             "ACK sip:+18005550199@gateway.example.com SIP/2.0", call_id, "1 ACK"),
        _sip(end, CARRIER, GATEWAY, "BYE", "BYE sip:+18005550199@gateway.example.com SIP/2.0", call_id, "2 BYE"),
        _sip(end + timedelta(milliseconds=rng.randint(5, 30)), GATEWAY, CARRIER, "200 OK", "SIP/2.0 200 OK",
             call_id, "2 BYE"),
    ]
    rtcp, samples = [], []
    at, sequence = answer + timedelta(seconds=5), rng.randint(1000, 30000)
    for _ in range(MAX_DEMO_REPORTS):
        if at >= end:
            break
        sequence += 250
        for (src, src_port), (dst, dst_port) in (MEDIA_SIDE, GATEWAY_SIDE), (GATEWAY_SIDE, MEDIA_SIDE):
            mos = round(rng.uniform(2.1, 3.2) if degraded else rng.uniform(4.1, 4.5), 2)
            lost = rng.randint(4, 25) if degraded else rng.choice((0, 0, 0, 1))
            jitter = rng.randint(18, 60) if degraded else rng.randint(0, 4)
            rtcp.append({
                "time": render_utc_ms(at), "from": {"ip": src, "port": src_port},
                "to": {"ip": dst, "port": dst_port},
                "packets": 250, "octets": 40000, "highestSeq": sequence, "jitter": jitter,
                "lsr": rng.randint(3_000_000, 3_500_000), "mos": mos, "packetsLost": lost,
            })
            if src == MEDIA:
                samples.append({"time": render_utc_ms(at), "mos": mos, "jitter": jitter, "packetsLost": lost})
        at += timedelta(seconds=5)
    agent = {"name": "Sam Ortiz", "external": False, "start": render_utc_ms(answer), "end": render_utc_ms(end),
             "exitReason": "Call Ended", "exitDescription": "The caller hung up", "samples": samples}
    participants = [agent]
    if external_left:
        left = answer + (end - answer) / 3
        participants.insert(0, {
            "name": "Dana Reyes (partner desk)", "external": True, "start": render_utc_ms(answer),
            "end": render_utc_ms(left), "exitReason": "Transfer",
            "exitDescription": "Transferred the caller to an internal agent and left", "samples": samples[:3],
        })
        agent["start"] = render_utc_ms(left)
    return diagnostics_check(
        {"endpoints": [CARRIER, GATEWAY, MEDIA], "sip": sip, "rtcp": rtcp, "participants": participants}
    )


def diagnostics_seed(*, account: Account, seed: int) -> int:
    """Give every ended voice conversation of ``account`` a diagnostics section; returns how many."""
    rng = random.Random(seed)
    calls = (
        Conversation.objects.filter(account=account, channel="voice", ended_at__isnull=False)
        .order_by("started_at", "session_id")
        .values_list("pk", "session_id", "started_at", "ended_at")
    )
    sections = {}
    for index, (pk, session_id, started_at, ended_at) in enumerate(calls.iterator(chunk_size=500)):
        end = max(ended_at, started_at + timedelta(seconds=20))
        section = diagnostics_demo_section(
            call_id=f"{session_id[-12:]}", start=started_at, end=end, rng=rng,
            degraded=index % 7 == 3, external_left=index % 5 == 1,
        )
        sections[pk] = (started_at, section)
    diagnostics_replace(account_id=account.pk, sections=sections)
    return len(sections)
