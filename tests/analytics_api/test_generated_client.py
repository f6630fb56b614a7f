"""A Python client generated from the committed schema works against a live server, and reads naturally.

openapi-python-client generates the client (in a virtualenv of its own, kept under ~/.cache and
reused); a script run in that virtualenv then calls interactionDetails, rawdata and a recording
download of a real gunicorn serving a seeded SQLite database, and reports what it got.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from analytics_api.management.commands.demo_setup import DEMO_ACCOUNT_ID, DEMO_BOT_ID, DEMO_ORG_ID
from tests.audio import audio
from tests.servers import serving
from tools.harness.pg import sqlite_app_env
from tools.harness.server import Gunicorn, manage

SCHEMA = Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml"
CLIENT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "analytics-api-client-venv"
# The generator, and what the generated package imports (its pyproject lists them).
CLIENT_PACKAGES = ["openapi-python-client~=0.29", "httpx", "attrs", "python-dateutil"]
AUDIO = audio(seconds=1.0)
CONVERSATION_ID = "c-0b5e8f0e-3c1d-4d0a-9a51-6a7f3d2c1b99"

# openapi-python-client knows binary bodies as application/octet-stream; FLAC and zip files are some.
GENERATOR_CONFIG = """
project_name_override: analytics-api-client
package_name_override: analytics_api_client
post_hooks: []
content_type_overrides:
  audio/flac: application/octet-stream
  application/zip: application/octet-stream
"""

# Run in the client's virtualenv: the calls an integrator would write, results printed as JSON.
CLIENT_SCRIPT = """
import json, sys
from analytics_api_client import AuthenticatedClient
from analytics_api_client.api.conversations import interaction_details
from analytics_api_client.api.ingestion import ingest_interactions
from analytics_api_client.api.qualityai import rawdata
from analytics_api_client.api.recordings import download_recording
from analytics_api_client.models import InteractionBatchRequest, InteractionDetailsRequest, RawdataRequest

args = json.loads(sys.argv[1])
client = AuthenticatedClient(base_url=args["base_url"], token=args["token"])
out = {}
if args["step"] == "ingest":
    batch = InteractionBatchRequest.from_dict({"records": [args["record"]]})
    result = ingest_interactions.sync(client=client, body=batch)
    out["ingested"] = [result.created, result.updated, len(result.rejected)]
else:
    page = interaction_details.sync(
        account_id=args["account_id"], client=client, limit=5,
        body=InteractionDetailsRequest(start_date=args["start"], end_date=args["end"], time_zone_offset=0),
    )
    out["details"] = {"num_results": page.num_results, "has_more": page.has_more,
                      "session_ids": [record.session_id for record in page.data]}
    contacts = rawdata.sync(
        stream_id=args["stream_id"], client=client, account_id=args["account_id"], org_id=args["org_id"],
        body=RawdataRequest(offset=0, start_date=args["start"] + " 00:00:00", end_date=args["end"] + " 23:59:59",
                                 limit=3),
    )
    first = contacts.results[0]
    out["rawdata"] = {
        "total_results": contacts.total_results,
        "count": len(contacts.results),
        "conversation_id": first.conversation_id,
        "start_type": type(first.conversation_start_time).__name__,
        "score": first.kore_evaluation_score,
        "duration_status": first.duration_status.value,
        "direction": first.contact_direction.value,
    }
    audio = download_recording.sync(conversation_id=args["conversation_id"], client=client)
    out["download"] = {"type": type(audio).__name__, "bytes": audio.payload.read().hex()}
print(json.dumps(out))
"""


def _client_python() -> Path:
    """The client virtualenv's interpreter; created and filled on first use (skips without network)."""
    python = CLIENT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CLIENT_VENV)], check=True, capture_output=True)
    ready = subprocess.run([str(python), "-c", "import openapi_python_client, httpx, attrs, dateutil"],
                           capture_output=True, check=False)
    if ready.returncode != 0:
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *CLIENT_PACKAGES], capture_output=True, text=True,
            timeout=600, check=False,
        )
        if install.returncode != 0:
            if re.search(r"Could not find a version|connection|Network is unreachable|resolve", install.stderr, re.I):
                pytest.skip(f"openapi-python-client could not be installed (no network?): {install.stderr[-500:]}")
            raise AssertionError(f"pip install failed:\n{install.stderr[-3000:]}")
    return python


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(interpreter, directory holding the generated package, the generator's output)."""
    python = _client_python()
    work = tmp_path_factory.mktemp("client")
    config = work / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    generated = subprocess.run(
        [str(python.parent / "openapi-python-client"), "generate", "--path", str(SCHEMA), "--config", str(config),
         "--output-path", str(work / "analytics_api_client"), "--meta", "none"],
        capture_output=True, text=True, timeout=300, check=False, cwd=work,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return python, work, generated.stdout + generated.stderr


class _AudioHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        self.wfile.write(AUDIO)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[str]:
    with serving(_AudioHandler) as base_url:
        yield base_url


def _run(python: Path, package_dir: Path, **args: Any) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-c", CLIENT_SCRIPT, json.dumps(args)], capture_output=True, text=True, timeout=120,
        check=False, env={**os.environ, "PYTHONPATH": str(package_dir)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_the_generator_understands_every_operation(generated_client: tuple[Path, Path, str]) -> None:
    _python, package_dir, output = generated_client
    assert "Warning" not in output and "Unsupported" not in output, output
    api = package_dir / "analytics_api_client" / "api"
    modules = {f"{path.parent.name}/{path.stem}" for path in api.glob("*/*.py") if path.stem != "__init__"}
    assert modules == {
        "conversations/call_details", "conversations/clear_search_history", "conversations/get_conversation",
        "conversations/get_conversation_events", "conversations/get_conversation_latency",
        "conversations/get_search_history", "conversations/get_transcript", "conversations/interaction_details",
        "conversations/query_conversations", "diagnostics/get_conversation_diagnostics", "exports/create_export",
        "exports/delete_export", "exports/download_export_file", "exports/get_export", "exports/list_exports",
        "extraction/count_records", "extraction/list_changes", "health/get_health", "health/get_readiness",
        "ingestion/ingest_contacts", "ingestion/ingest_conversations", "ingestion/ingest_interactions",
        "qualityai/rawdata", "recordings/download_recording", "recordings/get_recording",
        "recordings/retry_recording", "settings/get_privacy_settings", "settings/get_retention_settings",
        "settings/list_audit_log", "settings/set_retention_settings", "settings/update_privacy_settings",
        "supervision/add_flag", "supervision/create_filter", "supervision/delete_conversation",
        "supervision/delete_filter", "supervision/duplicate_filter", "supervision/erase_customer",
        "supervision/export_conversations", "supervision/export_transcripts", "supervision/get_filter",
        "supervision/list_disposition_changes", "supervision/list_filters", "supervision/remove_flag",
        "supervision/set_default_filter", "supervision/update_dispositions", "supervision/update_filter",
    }
    details = (api / "conversations" / "interaction_details.py").read_text()
    # One account argument, not account_id_path / account_id_header.
    assert "account_id: str," in details and "account_id_path" not in details
    result = (package_dir / "analytics_api_client" / "models" / "rawdata_result.py").read_text()
    for attribute in ("conversation_id: str", "conversation_start_time: datetime.datetime", "customer_emotions",
                      "configured_intents", "kore_evaluation_score"):
        assert attribute in result, attribute


def test_interaction_details_rawdata_and_a_download_through_the_generated_client(
    generated_client: tuple[Path, Path, str], tmp_path: Path, recording_server: str
) -> None:
    python, package_dir, _output = generated_client
    env = sqlite_app_env(tmp_path, RECORDING_SOURCE_SHARED_HOSTS="127.0.0.1")
    setup = manage(env, "demo_setup", "--no-seed")
    manage(env, "seed_demo", DEMO_ACCOUNT_ID, "--days", "2", "--per-day", "10")
    token = re.search(r"^export TOKEN=(\S+)$", setup, re.MULTILINE).group(1)
    today = datetime.now(UTC).date()
    ended = datetime.now(UTC) - timedelta(hours=1)
    record = {
        "conversationId": CONVERSATION_ID, "sessionId": "0b5e8f0e3c1d4d0a9a51c099", "channel": "voice",
        "botId": DEMO_BOT_ID, "sessionStartTime": (ended - timedelta(minutes=5)).isoformat(),
        "sessionEndTime": ended.isoformat(),
        "recordingSources": [{"url": f"{recording_server}/call.flac", "channel": "mixed"}],
    }
    with Gunicorn(env=env, workers=1) as server:
        common = {"base_url": server.base_url, "token": token}
        assert _run(python, package_dir, step="ingest", record=record, **common) == {"ingested": [1, 0, 0]}
        assert "available: 1" in manage(env, "process_recordings", "--skip-retention")
        got = _run(
            python, package_dir, step="read", account_id=DEMO_ACCOUNT_ID, org_id=DEMO_ORG_ID, stream_id=DEMO_BOT_ID,
            start=(today - timedelta(days=1)).isoformat(), end=today.isoformat(), conversation_id=CONVERSATION_ID,
            **common,
        )
    assert got["details"]["num_results"] == 5 and got["details"]["has_more"] is True
    assert len(got["details"]["session_ids"]) == 5
    rawdata = got["rawdata"]
    assert rawdata["count"] == 3 and rawdata["total_results"] >= 3
    assert rawdata["conversation_id"].startswith("c-") and rawdata["start_type"] == "datetime"
    assert rawdata["duration_status"] in {"evaluated", "below_threshold", "duration_unavailable"}
    assert rawdata["direction"] in {"inbound", "outbound"}
    assert got["download"] == {"type": "File", "bytes": AUDIO.hex()}
