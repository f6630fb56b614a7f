"""The diagnostics exports: the flow as plain text, and as a libpcap capture Wireshark and tshark open.

The capture rebuilds the call's packets from what was ingested: every SIP message is a UDP datagram
between its endpoints at its timestamp, every RTCP report an RTCP receiver report (RFC 3550 §6.4.2)
carrying the report's counters. Frames are Ethernet (link type 1, the one every reader decodes) with
locally administered MAC addresses derived from the IP addresses; IPv4 and IPv6 are both written.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Iterator
from typing import Any

from analytics_api.kernel.dates import parse_aware
from diagnostics.selectors import CallDiagnosticsView

PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps
LINKTYPE_ETHERNET = 1
SNAPLEN = 65_535
UDP = 17
RTCP_RECEIVER_REPORT = 201


def flow_text(view: CallDiagnosticsView) -> Iterator[str]:
    """One line per flow item: time, offset, source:port → destination:port, label."""
    yield f"# Call flow of conversation {view.session_id}: {len(view.flow)} messages\n"
    for item in view.flow:
        source, destination = item["from"], item["to"]
        yield (
            f"{item['time']} {item['offset']} {_address(source)} → {_address(destination)} "
            f"{_one_line(item['label'])}\n"
        )


def _address(endpoint: dict[str, Any]) -> str:
    ip = endpoint["ip"]
    return f"[{ip}]:{endpoint['port']}" if ":" in ip else f"{ip}:{endpoint['port']}"


def _one_line(label: str) -> str:
    return " ".join(label.split())


def flow_pcap(view: CallDiagnosticsView) -> Iterator[bytes]:
    """The libpcap file: its global header, then one record per flow item in time order."""
    yield struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)
    for item in view.flow:
        payload = _sip_payload(item) if item["type"] == "sip" else _rtcp_payload(item)
        frame = _ethernet(item["from"], item["to"], payload)
        moment = parse_aware(item["time"])
        seconds = int(moment.timestamp())
        yield struct.pack("<IIII", seconds, moment.microsecond, len(frame), len(frame)) + frame


def _sip_payload(item: dict[str, Any]) -> bytes:
    text = item.get("message") or item["label"]
    # SIP lines end with CRLF; messages ingested with bare newlines are normalised so readers parse them.
    lines = text.replace("\r\n", "\n").split("\n")
    body = "\r\n".join(lines)
    if "\r\n\r\n" not in body:
        body = body.rstrip("\r\n") + "\r\n\r\n"
    return body.encode("utf-8")


def _ssrc(endpoint: dict[str, Any]) -> int:
    return int.from_bytes(hashlib.sha256(f"{endpoint['ip']}:{endpoint['port']}".encode()).digest()[:4], "big")


def _rtcp_payload(item: dict[str, Any]) -> bytes:
    """An RTCP receiver report with one report block: the reporter is the report's source."""
    report = item["report"]
    packets = report.get("packets") or 0
    lost = report.get("packetsLost") or 0
    expected = packets + max(lost, 0)
    fraction = min(255, (max(lost, 0) * 256) // expected) if expected else 0
    cumulative = lost & 0xFFFFFF  # 24-bit two's complement
    block = struct.pack(
        "!IIIIII",
        _ssrc(item["to"]),
        (fraction << 24) | cumulative,
        int(report.get("highestSeq") or 0) & 0xFFFFFFFF,
        int(report.get("jitter") or 0) & 0xFFFFFFFF,
        int(report.get("lsr") or 0) & 0xFFFFFFFF,
        0,
    )
    length_words = (8 + len(block)) // 4 - 1
    header = struct.pack("!BBHI", 0x80 | 1, RTCP_RECEIVER_REPORT, length_words, _ssrc(item["from"]))
    return header + block


def _mac(ip: str) -> bytes:
    # Locally administered unicast (02:…) so no reader mistakes it for a vendor's address.
    return b"\x02" + hashlib.sha256(ip.encode()).digest()[:5]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ethernet(source: dict[str, Any], destination: dict[str, Any], payload: bytes) -> bytes:
    src_ip = ipaddress.ip_address(source["ip"])
    dst_ip = ipaddress.ip_address(destination["ip"])
    udp_length = 8 + len(payload)
    udp_header = struct.pack("!HHHH", source["port"], destination["port"], udp_length, 0)
    if src_ip.version == 4 and dst_ip.version == 4:
        total = 20 + udp_length
        ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, UDP, 0, src_ip.packed, dst_ip.packed)
        ip_header = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:]
        pseudo = src_ip.packed + dst_ip.packed + struct.pack("!BBH", 0, UDP, udp_length)
        ethertype = 0x0800
    else:
        src6 = _as_v6(src_ip)
        dst6 = _as_v6(dst_ip)
        ip_header = struct.pack("!IHBB16s16s", 6 << 28, udp_length, UDP, 64, src6.packed, dst6.packed)
        pseudo = src6.packed + dst6.packed + struct.pack("!I3xB", udp_length, UDP)
        ethertype = 0x86DD
    udp_checksum = _checksum(pseudo + udp_header + payload) or 0xFFFF
    udp = udp_header[:6] + struct.pack("!H", udp_checksum) + payload
    return _mac(destination["ip"]) + _mac(source["ip"]) + struct.pack("!H", ethertype) + ip_header + udp


def _as_v6(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    """A mixed IPv4/IPv6 pair is written as IPv6, the IPv4 side mapped (::ffff:a.b.c.d)."""
    if address.version == 6:
        return address  # type: ignore[return-value]
    return ipaddress.IPv6Address(f"::ffff:{address}")
