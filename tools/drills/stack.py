"""The application under drill: its environment, its tenant and API clients, its database.

Everything goes through the documented commands (``create_account``, ``seed_demo``,
``create_api_client --json``, ``mint_jwt``) run as separate processes, exactly as an operator
would; the drills only read the database directly to count what was stored.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tools.drills.client import call
from tools.drills.records import RECORDING
from tools.harness.server import manage

ACCOUNT_ID = "d71115a0b1c2d3e4f5a6b7c8"
ORG_ID = "o-d7111500-0000-4000-8000-00000000d711"
BOT_ID = "st-d7111500-0000-4000-8000-0000000b0711"


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


def audit_actions(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT action, count(*) FROM recordings_auditentry "
            "WHERE account_id = (SELECT id FROM analytics_api_account WHERE account_id = %s) GROUP BY 1",
            [ACCOUNT_ID],
        ).fetchall()
    return dict(rows)
