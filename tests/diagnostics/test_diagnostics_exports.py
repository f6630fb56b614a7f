"""The TEXT and PCAP exports; the capture is read back with tshark, a real reader."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.content.factories import ConversationFactory
from tests.diagnostics.conftest import CARRIER, GATEWAY, MEDIA, path, rtcp, sip, store

pytestmark = pytest.mark.django_db

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")


def _content(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_text_export_has_one_line_per_message(tenant: Any, call: Any) -> None:
    response = tenant.get(path("call-1", "?format=text"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="diagnostics-call-1.txt"'
    lines = _content(response).decode().splitlines()
    assert lines[0] == "# Call flow of conversation call-1: 8 messages"
    assert lines[1:] == [
        f"2025-09-30T10:00:00.000Z +0.000s {CARRIER}:5060 → {GATEWAY}:5060 INVITE",
        f"2025-09-30T10:00:00.012Z +0.012s {GATEWAY}:5060 → {CARRIER}:5060 100 Trying",
        f"2025-09-30T10:00:01.500Z +1.500s {GATEWAY}:5060 → {CARRIER}:5060 200 OK",
        f"2025-09-30T10:00:01.520Z +1.520s {CARRIER}:5060 → {GATEWAY}:5060 ACK",
        f"2025-09-30T10:00:05.000Z +5.000s {MEDIA}:40001 → {GATEWAY}:20001 RTCP",
        f"2025-09-30T10:00:07.000Z +7.000s {CARRIER}:40001 → {GATEWAY}:20001 RTCP",
        f"2025-09-30T10:00:10.000Z +10.000s {MEDIA}:40001 → {GATEWAY}:20001 RTCP",
        f"2025-09-30T10:01:00.250Z +60.250s {CARRIER}:5060 → {GATEWAY}:5060 BYE",
    ]


def _tshark(capture: Path, *args: str) -> list[list[str]]:
    assert TSHARK is not None
    result = subprocess.run(
        [TSHARK, "-n", "-r", str(capture), "-T", "fields", "-E", "separator=|", *args],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return [line.split("|") for line in result.stdout.splitlines()]


@needs_tshark
def test_pcap_export_reads_back_with_every_sip_message_in_order(tenant: Any, call: Any, tmp_path: Path) -> None:
    response = tenant.get(path("call-1", "?format=pcap"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.tcpdump.pcap"
    assert response["Content-Disposition"] == 'attachment; filename="diagnostics-call-1.pcap"'
    capture = tmp_path / "call.pcap"
    capture.write_bytes(_content(response))

    rows = _tshark(
        capture, "-Y", "sip",
        "-e", "frame.time_epoch", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "udp.dstport",
        "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID",
    )

    base = 1759226400.0  # 2025-09-30T10:00:00Z
    assert [(round(float(r[0]) - base, 3), r[1], r[2], r[3], r[4], r[5] or r[6]) for r in rows] == [
        (0.0, CARRIER, "5060", GATEWAY, "5060", "INVITE"),
        (0.012, GATEWAY, "5060", CARRIER, "5060", "100"),
        (1.5, GATEWAY, "5060", CARRIER, "5060", "200"),
        (1.52, CARRIER, "5060", GATEWAY, "5060", "ACK"),
        (60.25, CARRIER, "5060", GATEWAY, "5060", "BYE"),
    ]
    assert {r[7] for r in rows} == {f"5f1c2a@{CARRIER}"}


@needs_tshark
def test_pcap_rtcp_reports_decode_as_receiver_reports(tenant: Any, call: Any, tmp_path: Path) -> None:
    capture = tmp_path / "call.pcap"
    capture.write_bytes(_content(tenant.get(path("call-1", "?format=pcap"))))

    rows = _tshark(
        capture, "-d", "udp.port==20001,rtcp", "-Y", "rtcp",
        "-e", "ip.src", "-e", "rtcp.pt", "-e", "rtcp.ssrc.cum_nr", "-e", "rtcp.ssrc.jitter",
        "-e", "rtcp.ssrc.high_seq",
    )

    assert rows == [
        [MEDIA, "201", "0", "2", "500"],
        [CARRIER, "201", "1", "0", "600"],
        [MEDIA, "201", "3", "4", "800"],
    ]


@needs_tshark
def test_pcap_checksums_are_valid_for_ipv4_and_ipv6(tenant: Any, tmp_path: Path) -> None:
    conversation = ConversationFactory(account=tenant.account, channel="voice", session_id="v6")
    store(conversation, {"sip": [
        sip("2025-09-30T10:00:00.000Z", "2001:db8::1", "2001:db8::2", "INVITE", "INVITE sip:a@b SIP/2.0"),
        sip("2025-09-30T10:00:00.100Z", CARRIER, GATEWAY, "OPTIONS", "OPTIONS sip:a@b SIP/2.0"),
    ], "rtcp": [rtcp("2025-09-30T10:00:01.000Z", CARRIER, GATEWAY, packetsLost=-2)]})
    capture = tmp_path / "v6.pcap"
    capture.write_bytes(_content(tenant.get(path("v6", "?format=pcap"))))

    rows = _tshark(
        capture, "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
        "-e", "udp.checksum.status", "-e", "ip.checksum.status", "-e", "ipv6.src",
    )

    assert [row[0] for row in rows] == ["1", "1", "1"]  # tshark: 1 Good, 0 Bad, 2 Unverified
    assert rows[0][2] == "2001:db8::1" and rows[1][1] == "1"
