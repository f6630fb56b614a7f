"""Reads of a call's diagnostics: the flow with offsets and directions, QoS statistics, participants.

Everything is computed from the stored document when read: a call has at most a few thousand
reports, and the document is fetched by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Any

from analytics_api.kernel.dates import parse_aware
from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from content.selectors import conversation_document_get, interaction_documents
from diagnostics.models import CallDiagnostics
from supervision.masking import Masker, account_obscures

NOT_VOICE = "Diagnostics are available only for voice conversations."
QOS_METRICS = ("packets", "octets", "highestSeq", "jitter", "lsr", "mos", "packetsLost")
PARTICIPANT_METRICS = ("mos", "jitter", "packetsLost")
RTCP_LABEL = "RTCP"


@dataclass(frozen=True)
class CallDiagnosticsView:
    session_id: str
    endpoints: list[str]
    flow: list[dict[str, Any]]
    qos: dict[str, Any]
    participants: list[dict[str, Any]]


def diagnostics_get(*, account: Account, session_id: str) -> CallDiagnosticsView:
    """The diagnostics of one of the account's voice conversations.

    404 for an unknown (or another account's) conversation, 409 ``not_voice`` for a chat or e-mail one;
    a voice call with nothing ingested yet has an empty flow.
    """
    conversation, document = conversation_document_get(
        account=account, session_id=session_id, model=CallDiagnostics, field="document"
    )
    if conversation.channel not in (None, "voice"):
        raise ApiError(NOT_VOICE, code="not_voice", status_code=409)
    document = document or {}
    if document and account_obscures(account=account):
        # SIP headers carry the caller's number: masked as every other surface masks it (supervision.masking).
        interaction = interaction_documents(account=account, conversations=[conversation]).get(session_id)
        document = Masker.of(document=interaction, sections=conversation.sections).value(document)
    return diagnostics_view(session_id=session_id, document=document)


def diagnostics_example(*, account: Account) -> str | None:
    """The sessionId of the account's latest ended voice call with diagnostics (demo_setup's ``CALL``)."""
    return (
        CallDiagnostics.objects.filter(account=account, conversation__ended_at__isnull=False)
        .order_by("-started_at")
        .values_list("conversation__session_id", flat=True)
        .first()
    )


def diagnostics_view(*, session_id: str, document: dict[str, Any]) -> CallDiagnosticsView:
    flow = _flow(document)
    endpoints = list(document.get("endpoints") or _endpoints_of(flow))
    for item in flow:
        item["arrow"] = _arrow(endpoints, item["from"]["ip"], item["to"]["ip"])
    return CallDiagnosticsView(
        session_id=session_id,
        endpoints=endpoints,
        flow=flow,
        qos=_qos(document.get("rtcp") or []),
        participants=[_participant(item) for item in document.get("participants") or []],
    )


def offset_text(seconds: float) -> str:
    """The flow's offset notation: ``+0.000s``."""
    return f"+{seconds:.3f}s"


def _flow(document: dict[str, Any]) -> list[dict[str, Any]]:
    """1. SIP messages and RTCP reports as flow items; 2. in time order (SIP before RTCP at the same
    instant, each kind in the order sent); 3. offsets from the first item."""
    items: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for index, message in enumerate(document.get("sip") or []):
        item = {"type": "sip", "time": message["time"], "from": message["from"], "to": message["to"],
                "label": message["label"], "message": message.get("message", "")}
        items.append((parse_aware(message["time"]), 0, index, item))
    for index, report in enumerate(document.get("rtcp") or []):
        item = {"type": "rtcp", "time": report["time"], "from": report["from"], "to": report["to"],
                "label": RTCP_LABEL, "report": {name: report.get(name) for name in QOS_METRICS}}
        items.append((parse_aware(report["time"]), 1, index, item))
    items.sort(key=lambda entry: entry[:3])
    if not items:
        return []
    first = items[0][0]
    flow = []
    for moment, _kind, _index, item in items:
        item["offset"] = offset_text((moment - first).total_seconds())
        item["direction"] = f"{item['from']['ip']} → {item['to']['ip']}"
        flow.append(item)
    return flow


def _endpoints_of(flow: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for item in flow:
        seen.setdefault(item["from"]["ip"], None)
        seen.setdefault(item["to"]["ip"], None)
    return list(seen)


def _arrow(endpoints: list[str], source: str, destination: str) -> str:
    """``→`` when the message goes from a column to one on its right (the endpoints' order), else ``←``."""
    position = {ip: index for index, ip in reversed(list(enumerate(endpoints)))}
    return "→" if position.get(source, 0) <= position.get(destination, 0) else "←"


def stats(values: list[float]) -> dict[str, float | None]:
    """min, average (two decimals) and max; all null when there is no value."""
    if not values:
        return {"min": None, "average": None, "max": None}
    return {"min": min(values), "average": round(fmean(values), 2), "max": max(values)}


def _metric_stats(reports: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    return {name: stats([r[name] for r in reports if r.get(name) is not None]) for name in QOS_METRICS}


def _qos(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Statistics over every report, and per connection (source IP → destination IP, in order of first report)."""
    connections: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for report in reports:
        connections.setdefault((report["from"]["ip"], report["to"]["ip"]), []).append(report)
    ordered = sorted(reports, key=lambda r: parse_aware(r["time"]))
    return {
        "reports": len(reports),
        "overall": _metric_stats(reports),
        "connections": [
            {"source": source, "destination": destination, "reports": len(items), "metrics": _metric_stats(items)}
            for (source, destination), items in connections.items()
        ],
        "series": [
            {"time": r["time"], "source": r["from"]["ip"], "destination": r["to"]["ip"],
             **{name: r.get(name) for name in QOS_METRICS}}
            for r in ordered
        ],
    }


def _participant(item: dict[str, Any]) -> dict[str, Any]:
    samples = item.get("samples") or []
    metrics = {
        name: stats([s[name] for s in samples if s.get(name) is not None]) for name in PARTICIPANT_METRICS
    }
    end = item.get("end")
    return {
        "name": item["name"],
        "external": bool(item.get("external", False)),
        "tag": "External Agent" if item.get("external") else None,
        "status": "In-Call" if end is None else "Left",
        "start": item["start"],
        "end": end if end is not None else "NA",
        "exitReason": item.get("exitReason"),
        "exitDescription": item.get("exitDescription"),
        "averageMos": metrics["mos"]["average"],
        **metrics,
    }
