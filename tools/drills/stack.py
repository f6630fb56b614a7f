"""The application under drill: its environment, its tenant and API clients, its database.

Everything goes through the documented commands (``create_account``, ``seed_demo``,
``create_api_client --json``, ``mint_jwt``) run as separate processes, exactly as an operator
would; the drills only read the database directly to count what was stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tools.drills.client import call
from tools.drills.records import INGEST_INTERACTIONS, RECORDING, interaction_record, json_body
from tools.drills.report import Report
from tools.harness.server import manage

ACCOUNT_ID = "d71115a0b1c2d3e4f5a6b7c8"
ORG_ID = "o-d7111500-0000-4000-8000-00000000d711"
BOT_ID = "st-d7111500-0000-4000-8000-0000000b0711"
RECORDING_RETRY = "/api/v1/recordings/{conversation}/retry"


@dataclass(frozen=True)
class DrillClient:
    client_id: str
    token: str


def app_env(*, database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The production configuration of the drills, plus ``extra`` (rate limits, recording timeouts)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        # The drills' recording server listens on loopback, which sources may not name by default.
        "RECORDING_SOURCE_SHARED_HOSTS": "127.0.0.1",
        **extra,
    }


def tenant_create(env: dict[str, str], *, days: int, per_day: int) -> None:
    """The drill's account with its bot, filled by ``seed_demo``."""
    manage(env, "create_account", ACCOUNT_ID, "--org", ORG_ID, "--name", "Drill", "--bot", BOT_ID)
    manage(env, "seed_demo", ACCOUNT_ID, "--days", str(days), "--per-day", str(per_day), timeout_s=1800)


def client_create(env: dict[str, str], *, name: str, scopes: list[str], ttl_s: int) -> DrillClient:
    options = [item for scope in scopes for item in ("--scope", scope)]
    created = json.loads(
        manage(env, "create_api_client", ACCOUNT_ID, *options, "--name", name, "--json").strip().splitlines()[-1]
    )
    token = manage(env, "mint_jwt", created["clientId"], "--ttl", str(ttl_s)).strip()
    return DrillClient(client_id=created["clientId"], token=token)


def client_limit(database_url: str, client: DrillClient, *, per_minute: int) -> None:
    # No command sets a client's own limit (the admin does); one UPDATE is what the admin would store.
    with psycopg.connect(database_url) as db:
        db.execute(
            "UPDATE analytics_api_apiclient SET rate_limit_per_minute = %s WHERE client_id = %s",
            [per_minute, client.client_id],
        )


def counts_by_prefix(database_url: str, *, table: str, column: str, prefixes: list[str]) -> dict[str, int]:
    """Rows of the drill's account whose ``column`` starts with each prefix (0 when none).

    The prefixes must share one length (one query groups on it).
    """
    if not prefixes:
        return {}
    width = len(prefixes[0])
    if any(len(prefix) != width for prefix in prefixes):
        raise ValueError("prefixes must have one length")
    query = sql.SQL(
        "SELECT left({column}, %s), count(*) FROM {table} "
        "WHERE account_id = (SELECT id FROM analytics_api_account WHERE account_id = %s) "
        "AND left({column}, %s) = ANY(%s) GROUP BY 1"
    ).format(column=sql.Identifier(column), table=sql.Identifier(table))
    with psycopg.connect(database_url) as db:
        found = dict(db.execute(query, [width, ACCOUNT_ID, width, prefixes]).fetchall())
    return {prefix: found.get(prefix, 0) for prefix in prefixes}


def wait_until(condition: Callable[[], bool], *, timeout_s: float, every_s: float = 1.0) -> float:
    """Seconds until ``condition`` held, or -1 when it did not within ``timeout_s``."""
    began = time.monotonic()
    while time.monotonic() - began <= timeout_s:
        if condition():
            return time.monotonic() - began
        time.sleep(every_s)
    return -1.0


def recorded_calls_ingest(
    *, base_url: str, token: str, label: str, count: int, recording_url: Callable[[int], str], attempts: int = 1
) -> list[str]:
    """``count`` voice calls that ended 20 minutes ago, so their recording jobs are due at the next
    sweep, each with one source (``recording_url(index)``); their conversation ids.

    The batch is the same at every attempt (ids from ``label``): a re-send after an answer that was
    lost (a web process killed mid-request) updates and never duplicates.
    """
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    tag = hashlib.sha256(label.encode()).hexdigest()[:14]
    records = [
        interaction_record(tag=tag, batch=0, index=index, bot_id=BOT_ID, org_id=ORG_ID,
                           start=start + timedelta(seconds=index), recording_url=recording_url(index))
        for index in range(count)
    ]
    body = json_body({"records": records})
    for attempt in range(attempts):
        answer = call(base_url, "POST", INGEST_INTERACTIONS, body=body,
                      headers={"auth": token, "Content-Type": "application/json"})
        if answer.status == 200 and answer.json()["created"] + answer.json()["updated"] == count:
            return [record["conversationId"] for record in records]
        if attempt + 1 < attempts:
            time.sleep(1)
    raise RuntimeError(f"could not ingest the {label} calls: {answer.status} {answer.body[:500]!r}")


def recordings_settled_then_retried(
    report: Report, name: str, *, base_url: str, token: str, database_url: str, ids: list[str], timeout_s: float
) -> float:
    """Wait until every file is ``available`` or its interrupted attempt was recorded as failed; retry
    those through the API as a user would, and wait until all are available. Seconds, or -1.

    The failed attempts' errors go to ``report.data["interrupted_attempts"][name]``.
    """
    began = time.monotonic()
    settled = ("available", "initial_fetch_failed")
    if wait_until(lambda: all(f.state in settled for f in recording_files(database_url, ids)),
                  timeout_s=timeout_s, every_s=2) < 0:
        return -1.0
    failed = [f for f in recording_files(database_url, ids) if f.state == "initial_fetch_failed"]
    report.data.setdefault("interrupted_attempts", {})[name] = {f.conversation_id: f.last_error for f in failed}
    answers = [call(base_url, "POST", RECORDING_RETRY.format(conversation=f.conversation_id),
                    headers={"auth": token}).status for f in failed]
    report.check(f"{name}: user retries of interrupted attempts accepted", all(code == 202 for code in answers),
                 f"{len(failed)} interrupted: {[f.last_error[:100] for f in failed]}; answers {answers}")
    if wait_until(lambda: all(f.state == "available" for f in recording_files(database_url, ids)),
                  timeout_s=timeout_s, every_s=2) < 0:
        return -1.0
    return time.monotonic() - began


def recording_states(base_url: str, token: str, conversation_ids: list[str]) -> dict[str, Any]:
    """Each recording as the API reports it: ``{"state", "files": [...]}``, or the status when not 200."""
    states: dict[str, Any] = {}
    for conversation_id in conversation_ids:
        answer = call(base_url, "GET", RECORDING.format(conversation=conversation_id), headers={"auth": token})
        states[conversation_id] = answer.json() if answer.status == 200 else answer.status
    return states


def recordings_wait(
    base_url: str, token: str, conversation_ids: list[str], *, timeout_s: float, done: Callable[[Any], bool]
) -> tuple[dict[str, Any], float]:
    """Poll until every recording satisfies ``done`` or ``timeout_s`` passes; last states and wait."""
    began = time.monotonic()
    while True:
        states = recording_states(base_url, token, conversation_ids)
        if all(done(state) for state in states.values()) or time.monotonic() - began > timeout_s:
            return states, time.monotonic() - began
        time.sleep(2)


def is_available(state: Any) -> bool:
    return isinstance(state, dict) and state.get("state") == "available"


@dataclass(frozen=True)
class StoredFile:
    """A recording file's job as the database holds it."""

    conversation_id: str
    source_url: str
    state: str
    attempts: int
    storage_key: str
    sha256: str
    last_error: str


def recording_files(database_url: str, conversation_ids: list[str]) -> list[StoredFile]:
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT r.conversation_id, f.source_url, f.state, f.attempts, f.storage_key, f.sha256, f.last_error "
            "FROM recordings_recordingfile f JOIN recordings_recording r ON r.id = f.recording_id "
            "WHERE r.account_id = (SELECT id FROM analytics_api_account WHERE account_id = %s) "
            "AND r.conversation_id = ANY(%s) ORDER BY r.conversation_id, f.id",
            [ACCOUNT_ID, conversation_ids],
        ).fetchall()
    return [StoredFile(*row) for row in rows]


def available_storage_keys(database_url: str) -> list[str]:
    """The storage key of every available recording file in the database, every account's and the
    demo's seeded ones (``seed_demo`` stores playable FLAC files) included."""
    with psycopg.connect(database_url) as db:
        rows = db.execute("SELECT storage_key FROM recordings_recordingfile WHERE state = 'available'").fetchall()
    # Sorted here, not by ORDER BY: the database's collation may order "-" and "/" otherwise than
    # Python, and the drill compares this list with the sorted files on disk.
    return sorted(key for (key,) in rows)


def audit_actions(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT action, count(*) FROM recordings_auditentry "
            "WHERE account_id = (SELECT id FROM analytics_api_account WHERE account_id = %s) GROUP BY 1",
            [ACCOUNT_ID],
        ).fetchall()
    return dict(rows)
