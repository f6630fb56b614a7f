"""docs/bi-quickstart.md, run as written against a live server: the copy it builds is the database's.

As ``make run`` does: ``migrate`` and ``demo_setup`` in a fresh SQLite ``VAR_DIR``, gunicorn serving
it and a django-q2 worker (``tools.harness.server``). The page's first Python block pulls the demo
account; the test then compares the copy with the server's database, ingests and updates records
over HTTP, pulls again (incrementally), and runs the first two blocks, whose verification must agree
with ``/api/v1/counts``; then the third, whose exports must hold the copy's records of the window.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conversations.factories import SessionRecordFactory
from tools.harness.server import Gunicorn, Qcluster, manage

DOC = Path(__file__).resolve().parents[2] / "docs" / "bi-quickstart.md"


@dataclass(frozen=True)
class Served:
    base_url: str
    token: str
    stream: str
    database: Path


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    var_dir = tmp_path_factory.mktemp("bi-var")
    env = {"VAR_DIR": str(var_dir)}
    manage(env, "migrate", "--noinput", timeout_s=300)
    with Gunicorn(env=env, workers=1) as server, Qcluster(env={**env, "Q_WORKERS": "1"}):
        printed = manage(env, "demo_setup", "--base-url", server.base_url, timeout_s=300)
        token = re.search(r"^export TOKEN=(\S+)", printed, re.MULTILINE).group(1)
        stream = re.search(r"\bSTREAM=(\S+)", printed).group(1)
        yield Served(server.base_url, token, stream, var_dir / "db.sqlite3")


def run(served: Served, code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
        env={"BASE": served.base_url, "TOKEN": served.token, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def copy_of(cwd: Path) -> dict[tuple[str, str], tuple[int, dict]]:
    with sqlite3.connect(cwd / "bi.sqlite") as db:
        rows = db.execute("SELECT dataset, key, version, record FROM records").fetchall()
    return {(dataset, key): (version, json.loads(record)) for dataset, key, version, record in rows}


def database_state(served: Served) -> dict[tuple[str, str], int]:
    """Every record of the server's database with its version (the id of its latest change)."""
    with sqlite3.connect(f"file:{served.database}?mode=ro", uri=True) as db:
        latest = dict(
            ((dataset, key), version)
            for dataset, key, version in db.execute(
                "SELECT dataset, key, max(id) FROM changes_change GROUP BY dataset, key"
            )
        )
        keys = [("interactions", key) for (key,) in db.execute("SELECT session_id FROM conversations_interaction")]
        keys += [
            ("qa_contacts", key)
            for (key,) in db.execute(
                "SELECT b.bot_id || '/' || c.conversation_id FROM qualityai_qacontact c "
                "JOIN analytics_api_bot b ON b.id = c.stream_id"
            )
        ]
        keys += [("conversations", key) for (key,) in db.execute("SELECT session_id FROM content_conversation")]
    return {key: latest[key] for key in keys}


def ingest(served: Served, records: list[dict]) -> None:
    request = urllib.request.Request(
        f"{served.base_url}/api/v1/ingest/interactions",
        data=json.dumps({"records": records}).encode(),
        headers={"auth": served.token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.load(response)["rejected"] == []


def test_the_quick_start_copies_the_account_incrementally_and_proves_it(served: Served, tmp_path: Path) -> None:
    pull, verify, _export = python_blocks()

    run(served, pull, tmp_path)
    first = copy_of(tmp_path)
    assert {key: version for key, (version, _record) in first.items()} == database_state(served)
    assert {dataset for dataset, _key in first} == {"interactions", "qa_contacts", "conversations"}

    fresh = [SessionRecordFactory(botId=served.stream) for _ in range(3)]
    ingest(served, fresh)
    run(served, pull, tmp_path)
    second = copy_of(tmp_path)
    ingest(served, [{**fresh[0], "finalStatus": "Abandoned"}])
    run(served, pull, tmp_path)
    third = copy_of(tmp_path)

    assert {key: version for key, (version, _record) in third.items()} == database_state(served)
    assert len(second) == len(third) == len(first) + 6  # three interactions and their conversations
    before, after = second[("interactions", fresh[0]["sessionId"])], third[("interactions", fresh[0]["sessionId"])]
    assert (before[1]["finalStatus"], after[1]["finalStatus"]) == ("BotResolved", "Abandoned")
    assert after[0] > before[0]
    assert {key: row for key, row in third.items() if key[1] != fresh[0]["sessionId"]} == {
        key: row for key, row in second.items() if key[1] != fresh[0]["sessionId"]
    }

    printed = run(served, pull + "\n" + verify, tmp_path)
    counted = {name: sum(1 for dataset, _key in third if dataset == name)
               for name in ("interactions", "qa_contacts", "conversations")}
    assert printed.splitlines() == [f"{name}: {count} records verified" for name, count in counted.items()]


def test_the_quick_starts_exports_hold_the_windows_records_checked_against_their_manifests(
    served: Served, tmp_path: Path
) -> None:
    pull, _verify, export = python_blocks()

    printed = run(served, pull + "\n" + export, tmp_path)

    with sqlite3.connect(tmp_path / "bi.sqlite") as db:
        lines = db.execute("SELECT dataset, line FROM exported").fetchall()
    exported: dict[str, list[dict]] = {}
    for dataset, line in lines:
        exported.setdefault(dataset, []).append(json.loads(line))
    names = ("interactions", "calldetails", "qa_contacts", "conversations", "transcripts", "events")
    assert printed.splitlines() == [f"{name}: {len(exported.get(name, []))} rows exported" for name in names]
    assert all(exported.get(name) for name in names)  # the demo data has every kind in its last seven days
    copy = copy_of(tmp_path)
    # Every exported record is one of the account's, and the conversation datasets name known conversations.
    for name, dataset in (("interactions", "interactions"), ("calldetails", "interactions"),
                          ("conversations", "conversations"), ("transcripts", "conversations"),
                          ("events", "conversations")):
        assert {(dataset, record["sessionId"]) for record in exported[name]} <= set(copy), name
    # calldetails: the window's voice interactions, a part of its interactions.
    calls = {record["sessionId"] for record in exported["calldetails"]}
    assert calls < {record["sessionId"] for record in exported["interactions"]}
    assert len({record["sessionId"] for record in exported["interactions"]}) == len(exported["interactions"])
