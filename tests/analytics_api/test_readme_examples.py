"""The README's examples, run for real against the demo account, the day they are run.

What a reader does is what the test does: ``manage.py migrate`` and ``manage.py demo_setup`` (as
``make run``) in a fresh SQLite ``VAR_DIR``, the ``export`` lines demo_setup prints pasted into a
shell, gunicorn serving that database, then each ``sh`` block of "Calling the endpoints" run as it
is with ``bash -euo pipefail`` in an empty directory. Nothing is pinned: the examples are relative
to today, and so is the demo data.

The app runs as separate processes (``tools.harness.server``), on their own SQLite database even when
the suite runs on PostgreSQL: ``process_env`` passes no ``DATABASE_URL`` to them.

Which blocks run (a README change that drops or adds examples changes the counts asserted below):

- a block that calls ``curl`` is run;
- a block without ``curl`` shows ``manage.py`` commands for an operator at the server's checkout
  (with ``<placeholders>``, or needing its ``.venv``): it is skipped, and must hold only such lines;
- the recordings block runs on the demo calls ``demo_setup`` names (``$CONVERSATION`` plays,
  ``$FAILED_CONVERSATION`` failed and is retried); the download must be a FLAC file;
- the conversations block runs on the demo voice call ``$CALL`` (its details, transcript, latency,
  diagnostics and capture file).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.harness.server import Gunicorn, manage

README = Path(__file__).resolve().parents[2] / "README.md"
# curl writes this line after each transfer: the status and the address, to tell the answers apart.
STATUS_MARK = "@@readme-example"
CURL_WRAPPER = f"curl() {{ command curl \"$@\" -w '\\n{STATUS_MARK} %{{http_code}} %{{url_effective}}\\n'; }}\n"


@dataclass(frozen=True)
class Demo:
    exports: str  # the export lines demo_setup printed, verbatim
    base_url: str


@dataclass(frozen=True)
class Answer:
    status: int
    url: str
    body: str


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def sh_blocks(section: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Migrated and seeded as ``make run`` does, served by gunicorn; the exports point at it."""
    var_dir = tmp_path_factory.mktemp("readme-var")
    env = {"VAR_DIR": str(var_dir)}
    manage(env, "migrate", "--noinput", timeout_s=300)
    with Gunicorn(env=env, workers=1) as server:
        printed = manage(env, "demo_setup", "--base-url", server.base_url, timeout_s=300)
        exports = "\n".join(line for line in printed.splitlines() if line.startswith("export "))
        yield Demo(exports=exports, base_url=server.base_url)


def run_sh(demo: Demo, script: str, cwd: Path) -> list[Answer]:
    """Run ``script`` after the exports with ``bash -euo pipefail``; one answer per curl transfer."""
    path = cwd / "example.sh"
    path.write_text(f"{demo.exports}\n{CURL_WRAPPER}{script}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", str(path)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{script}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    answers: list[Answer] = []
    body: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith(STATUS_MARK + " "):
            _, status, url = line.split(" ", 2)
            answers.append(Answer(status=int(status), url=url, body="\n".join(body).strip()))
            body = []
        else:
            body.append(line)
    return answers


def test_demo_setup_prints_every_variable_the_examples_use(demo: Demo) -> None:
    names = re.findall(r"\b([A-Z_]+)=", demo.exports)
    assert sorted(names) == [
        "ACCOUNT", "BASE", "CALL", "CONVERSATION", "END", "FAILED_CONVERSATION", "ORG", "START", "STREAM", "TOKEN"
    ]
    assert f"BASE={demo.base_url}" in demo.exports


def test_every_example_of_calling_the_endpoints_answers_data_on_the_demo_account(
    demo: Demo, tmp_path: Path
) -> None:
    ran: list[str] = []
    answers: list[Answer] = []
    for block in sh_blocks(readme_section("Calling the endpoints")):
        if "curl" not in block:
            commands = [line for line in block.splitlines() if line.strip()]
            assert all("manage.py " in line for line in commands), f"a block neither run nor for an operator:\n{block}"
            continue
        ran.append(block)
        answers += run_sh(demo, block, tmp_path)

    playing = re.search(r"\bCONVERSATION=(\S+)", demo.exports).group(1)
    failed = re.search(r"\bFAILED_CONVERSATION=(\S+)", demo.exports).group(1)
    call = re.search(r"\bCALL=(\S+)", demo.exports).group(1)
    for answer in answers:
        assert 200 <= answer.status < 300, answer
        if answer.url.endswith("/download"):  # saved by -OJ under the name the server gives
            assert (tmp_path / f"{playing}-mixed.flac").read_bytes()[:4] == b"fLaC"
            continue
        if answer.url.endswith("format=pcap"):  # a libpcap file, magic number a1b2c3d4 (little-endian)
            assert (tmp_path / f"diagnostics-{call}.pcap").read_bytes()[:4] == bytes.fromhex("d4c3b2a1")
            continue
        document = json.loads(answer.body)
        if answer.url.endswith(f"/recordings/{playing}"):
            assert document["state"] == "available" and document["files"], answer
        elif answer.url.endswith(f"/recordings/{failed}"):
            assert document["failures"] and all(item["reason"] for item in document["failures"]), answer
        elif answer.url.endswith("/retry"):
            assert answer.status == 202 and document["state"] == "fetching_in_progress", answer
        elif answer.url.split("?")[0].endswith(("/interactionDetails", "/calldetails")):
            assert document["numResults"] > 0, answer
        elif answer.url.endswith("/rawdata"):
            assert document["totalResults"] > 0, answer
        elif "/api/v1/ingest/" in answer.url:
            assert document["rejected"] == [] and document["created"] + document["updated"] > 0, answer
        elif answer.url.endswith("/conversations/query"):
            assert document["total"] > 0 and document["results"], answer
        elif answer.url.endswith(f"/conversations/{call}"):
            assert document["sessionId"] == call, answer
        elif answer.url.endswith("/transcript"):
            assert document["messages"], answer
        elif answer.url.endswith("/latency"):
            assert document["turns"], answer
        elif answer.url.endswith("/diagnostics"):
            assert document["flow"] and document["qos"]["reports"] > 0, answer
    # interactionDetails + calldetails, rawdata, ingestion (2), recordings (4), retention and audit log (3),
    # conversations (6).
    assert (len(ran), len(answers)) == (6, 18), ran
    assert len(answers) == sum(block.count("curl ") for block in ran)  # every curl answered once
    assert {Path(answer.url.split("?")[0]).name for answer in answers} == {
        "interactionDetails", "calldetails", "rawdata", "interactions", "contacts", "retention", "audit-log",
        playing, "download", failed, "retry", "query", call, "transcript", "latency", "diagnostics",
    }
    # The heredoc filled in today's date: the contacts are in the window the examples query.
    contacts = json.loads((tmp_path / "contacts.json").read_text())["records"]
    end = re.search(r"\bEND=(\S+)", demo.exports).group(1)
    assert contacts and all(c["Conversation Start Time"].startswith(f"{end}T") for c in contacts)


def test_the_sample_error_is_what_the_server_answers(demo: Demo, tmp_path: Path) -> None:
    samples = re.findall(r"^```json\n(.*?)^```$", readme_section("Accounts, API clients and tokens"), re.DOTALL | re.M)
    assert len(samples) == 1
    script = (
        'curl -s -X POST "$BASE/agentassist/api/public/analytics/account/$ACCOUNT/v2/interactionDetails?limit=0" '
        "-H \"auth: $TOKEN\" -H 'Content-Type: application/json' "
        "-d '{\"startDate\": \"'\"$START\"'\", \"endDate\": \"'\"$END\"'\", \"timeZoneOffset\": 0}'\n"
    )
    [answer] = run_sh(demo, script, tmp_path)
    assert answer.status == 400
    assert json.loads(answer.body) == json.loads(samples[0])


def test_every_curl_that_saves_a_file_fails_on_an_error_status() -> None:
    """Without ``--fail`` curl saves an error body as the file and exits 0, so a script goes on."""
    text = readme_section("Calling the endpoints").replace("\\\n", " ")
    saves = re.compile(r"\bcurl\b.* (-[a-zA-Z]*[oO]|--output|--remote-name)")
    saving = [line for line in text.splitlines() if saves.search(line)]
    assert saving, "no example saves a file any more: drop this test"
    for line in saving:
        assert re.search(r" (-[a-zA-Z]*f[a-zA-Z]*|--fail(-with-body)?)\b", line), line
