"""Helpers of the content-ingestion tests: records, messages and the endpoint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory

from content.models import Conversation
from tests.conftest import Tenant
from tests.content.factories import BASE, utc_ms

INGEST_CONTENT = "/api/v1/ingest/conversations"


def message(number: int, *, seconds: float | None = None, role: str = "customer", **extra: Any) -> dict[str, Any]:
    """Message ``m<number>`` at BASE + ``seconds`` (default: ``number`` seconds)."""
    at = BASE + timedelta(seconds=number if seconds is None else seconds)
    return {"id": f"m{number}", "time": utc_ms(at), "role": role, "text": f"text {number}", **extra}


def event(number: int, kind: str = "routing_initiated", **extra: Any) -> dict[str, Any]:
    return {"id": f"e{number}", "type": kind, "time": utc_ms(BASE + timedelta(seconds=number)), **extra}


class ContentRecordFactory(factory.DictFactory):
    """A record with a three-message transcript."""

    sessionId = factory.Sequence(lambda n: f"s{n:023x}")
    transcript = factory.LazyFunction(lambda: [message(1), message(2, role="bot"), message(3)])


def send(tenant: Tenant, records: Any, **batch: Any) -> Any:
    return tenant.post(INGEST_CONTENT, {"records": records, **batch})


def stored(tenant: Tenant, session_id: str) -> Conversation:
    return Conversation.objects.get(account=tenant.account, session_id=session_id)


def rejected_errors(response: Any) -> list[dict[str, str]]:
    """The errors of the only rejected record of ``response`` (a 200 with one rejection)."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["rejected"]) == 1, body
    return body["rejected"][0]["errors"]


def document_start_updates(queries: Any) -> list[str]:
    """The statements of a ``CaptureQueriesContext`` that rewrite a document's start (partition key)."""
    return [
        query["sql"] for query in queries.captured_queries
        if query["sql"].startswith("UPDATE") and 'SET "started_at"' in query["sql"]
        and any(f'"{table}"' in query["sql"] for table in (
            "content_transcript", "content_eventlog", "content_voiceturns", "diagnostics_calldiagnostics"))
    ]
