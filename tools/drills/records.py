"""What the drills send: ingestion records made from the documented examples, and the read mix.

Records are the request examples of the committed OpenAPI schema (``openapi/schema.yaml``) — the
shapes integrators are told to send — with fresh ids and every time moved to a chosen start, so
the drills exercise exactly the validation and storage path real clients do.

Ids carry a run tag and a batch number, so that the database can be asked afterwards how many
records of each batch were stored (``interaction_batch_prefix``, ``contact_batch_prefix``).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import yaml

from tools.harness.server import REPO
from tools.harness.wrk import WrkRequest

SCHEMA = REPO / "openapi" / "schema.yaml"
INGEST_INTERACTIONS = "/api/v1/ingest/interactions"
INGEST_CONTACTS = "/api/v1/ingest/qualityai/{stream}/contacts"
DETAILS = "/agentassist/api/public/analytics/account/{account}/v2/{endpoint}"
RAWDATA = "/qualityai/api/v1/public/qualitymanagement/app/{stream}/rawdata"
RECORDING = "/api/v1/recordings/{conversation}"
RETENTION = "/api/v1/settings/retention"
AUDIT_LOG = "/api/v1/settings/audit-log"

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@cache
def _example(path: str, name: str) -> dict[str, Any]:
    schema = yaml.safe_load(SCHEMA.read_text())
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return content["examples"][name]["value"]["records"][0]


def _shifted(value: Any, delta: timedelta) -> Any:
    """Every zoned ISO time in ``value`` moved by ``delta`` (its zone kept), the rest untouched."""
    if isinstance(value, dict):
        return {key: _shifted(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_shifted(item, delta) for item in value]
    if isinstance(value, str) and _TIME.match(value):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return (moment + delta).isoformat()
    return value


def interaction_batch_prefix(tag: str, batch: int | None) -> str:
    """The ``sessionId`` prefix of one batch of a run, or of the whole run (``batch`` None)."""
    return tag if batch is None else f"{tag}{batch:06x}"


def interaction_record(
    *, tag: str, batch: int, index: int, bot_id: str, org_id: str, start: datetime, recording_url: str | None = None
) -> dict[str, Any]:
    """The documented voice call, ``sessionId`` = 24 hex characters: tag (14), batch (6), index (4)."""
    template = _example(INGEST_INTERACTIONS, "OneVoiceCall")
    record = _shifted(copy.deepcopy(template), start - datetime.fromisoformat(template["sessionStartTime"]))
    session_id = interaction_batch_prefix(tag, batch) + f"{index:04x}"
    record.update(sessionId=session_id, conversationId=f"c-{session_id}", botId=bot_id, orgId=org_id)
    record.pop("automationBotIDs", None)  # other bots of the example's account, not of ours
    if recording_url:
        record["recordingSources"] = [{"url": recording_url, "channel": "mixed"}]
    else:
        record.pop("recordingSources", None)
    return record


def contact_batch_prefix(tag: str, batch: int | None) -> str:
    """The ``Conversation ID`` prefix of one batch of a run, or of the whole run (``batch`` None)."""
    return f"c-{tag}-" if batch is None else f"c-{tag}-{batch:06x}-"


def contact_record(*, tag: str, batch: int, index: int, start: datetime) -> dict[str, Any]:
    """The documented Quality AI contact with its own ``Conversation ID``."""
    template = _example("/api/v1/ingest/qualityai/{streamId}/contacts", "TwoContacts")
    record = _shifted(
        copy.deepcopy(template), start - datetime.fromisoformat(template["Conversation Start Time"])
    )
    record["Conversation ID"] = contact_batch_prefix(tag, batch) + f"{index:04x}"
    record.pop("customConversationId", None)
    return record


def json_body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def read_requests(
    *, token: str, account_id: str, org_id: str, bot_id: str, conversation_ids: list[str], today: datetime
) -> list[tuple[str, WrkRequest]]:
    """One of each read endpoint, named, as a BI job would call them, over the last seven days."""
    auth = {"auth": token, "Content-Type": "application/json"}
    first_day = (today - timedelta(days=6)).date().isoformat()
    last_day = today.date().isoformat()
    details_body = json_body({
        "startDate": first_day, "endDate": last_day, "timeZoneOffset": -330, "channels": ["voice", "rtm", "email"],
        "selectedFields": {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []},
    })
    rawdata_body = json_body({
        "startDate": f"{first_day} 00:00:00", "endDate": f"{last_day} 23:59:59", "offset": 0, "limit": 100,
        "page": 1, "include_below_threshold": True,
    })
    qa_headers = {**auth, "accountId": account_id, "orgId": org_id}
    details = DETAILS.format(account=account_id, endpoint="interactionDetails")
    requests = [
        ("interactionDetails", WrkRequest("POST", details + "?limit=100&offset=0", auth, details_body)),
        ("interactionDetails page 4", WrkRequest("POST", details + "?limit=50&offset=3", auth, details_body)),
        ("calldetails", WrkRequest(
            "POST", DETAILS.format(account=account_id, endpoint="calldetails") + "?limit=100&offset=0", auth,
            details_body)),
        ("rawdata", WrkRequest("POST", RAWDATA.format(stream=bot_id), qa_headers, rawdata_body)),
        ("retention", WrkRequest("GET", RETENTION, {"auth": token})),
        ("audit-log", WrkRequest("GET", AUDIT_LOG + "?offset=0&limit=50", {"auth": token})),
    ]
    requests += [
        ("recording status", WrkRequest("GET", RECORDING.format(conversation=cid), {"auth": token}))
        for cid in conversation_ids
    ]
    return requests
