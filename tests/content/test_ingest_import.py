"""python manage.py import_conversations <accountId> <file.jsonl>."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from content.models import Conversation, Transcript
from tests.conftest import Tenant
from tests.content.ingest_helpers import ContentRecordFactory, message


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "conversations.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_reports_created_updated_and_rejected_lines(tenant: Tenant, tmp_path: Path) -> None:
    existing = {"sessionId": "s-1", "transcriptMode": "append", "transcript": [message(1)]}
    call_command("import_conversations", tenant.account_id, str(_write(tmp_path, [json.dumps(existing)])),
                 stdout=io.StringIO(), stderr=io.StringIO())
    lines = [
        json.dumps({**existing, "transcript": [message(2)]}),
        json.dumps(ContentRecordFactory(sessionId="s-2", status="completed")),
        "{not json",
        "",
        json.dumps({"sessionId": "s-3", "transcript": [message(1, role="user")]}),
        json.dumps({"sessionId": "s-4", "csat": {"score": 9}}),
    ]
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:  # the command exits 1 after its report
        call_command("import_conversations", tenant.account_id, str(_write(tmp_path, lines)), stdout=out, stderr=err)
    assert str(failure.value) == (
        "3 of 5 lines were rejected (listed above); the other lines are stored. Fix the rejected lines and import "
        "the file again: stored records are updated, not duplicated."
    )
    assert out.getvalue().splitlines() == [
        "Read 5 lines: 1 created, 1 updated, 3 rejected.",
        "line 3: Not valid JSON: Expecting property name enclosed in double quotes at column 2.",
        "line 5: transcript[0].role: role must be one of customer, bot, agent, supervisor or system, not 'user'.",
        "line 6: csat.score: csat.score must be an integer from 1 to 5, or null (asked, not answered).",
    ]
    assert "100.0%" in err.getvalue()
    assert sorted(Conversation.objects.values_list("session_id", flat=True)) == ["s-1", "s-2"]
    assert [m["id"] for m in Transcript.objects.get(conversation__session_id="s-1").messages] == ["m1", "m2"]


def test_import_streams_in_chunks(tenant: Tenant, tmp_path: Path) -> None:
    path = _write(tmp_path, [json.dumps(ContentRecordFactory()) for _ in range(2500)])
    out = io.StringIO()
    call_command("import_conversations", tenant.account_id, str(path), stdout=out, stderr=io.StringIO())
    assert out.getvalue().splitlines() == ["Read 2500 lines: 2500 created, 0 updated, 0 rejected."]
    assert Conversation.objects.filter(account=tenant.account).count() == 2500


def test_an_unknown_account_or_file_is_an_error(tenant: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"No account 'nobody'; create it with create_account\."):
        call_command("import_conversations", "nobody", str(_write(tmp_path, ["{}"])))
    with pytest.raises(CommandError, match=r"No file '.*missing\.jsonl'\."):
        call_command("import_conversations", tenant.account_id, str(tmp_path / "missing.jsonl"))

