"""python manage.py import_interactions <accountId> <file.jsonl>."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conversations.models import Interaction
from tests.conftest import Tenant
from tests.conversations.factories import SessionRecordFactory


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_interactions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_reports_created_updated_and_rejected_lines(tenant: Tenant, tmp_path: Path) -> None:
    existing = SessionRecordFactory(botId=tenant.bot.bot_id)
    run(tenant.account_id, str(_write(tmp_path, [json.dumps(existing)])))
    lines = [
        json.dumps(existing),
        json.dumps(SessionRecordFactory(botId=tenant.bot.bot_id)),
        "{not json",
        "",
        json.dumps(SessionRecordFactory(botId=tenant.bot.bot_id, sessionStartTime="2025-09-30T06:00:00")),
        json.dumps(SessionRecordFactory(botId="st-elsewhere")),
    ]
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:  # the command exits 1 after its report
        call_command("import_interactions", tenant.account_id, str(_write(tmp_path, lines)), stdout=out, stderr=err)
    out, err = out.getvalue(), err.getvalue()

    assert str(failure.value) == (
        "3 of 5 lines were rejected (listed above); the other lines are stored. Fix the rejected lines and import "
        "the file again: stored records are updated, not duplicated."
    )
    assert out.splitlines() == [
        "Read 5 lines: 1 created, 1 updated, 3 rejected.",
        "line 3: Not valid JSON: Expecting property name enclosed in double quotes at column 2.",
        "line 5: sessionStartTime: The time '2025-09-30T06:00:00' has no time zone: add Z (UTC) or an explicit "
        "offset such as +05:30.",
        "line 6: botId: 'st-elsewhere' is not a bot of this account.",
    ]
    assert "100.0%" in err
    assert Interaction.objects.filter(account=tenant.account).count() == 2


def test_import_streams_in_chunks(tenant: Tenant, tmp_path: Path) -> None:
    path = _write(tmp_path, [json.dumps(SessionRecordFactory(botId=tenant.bot.bot_id)) for _ in range(2500)])
    out, _err = run(tenant.account_id, str(path))
    assert out.splitlines() == ["Read 2500 lines: 2500 created, 0 updated, 0 rejected."]


def test_import_into_an_unknown_account_fails(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as failure:
        run("nope", str(_write(tmp_path, [])))
    assert str(failure.value) == "No account 'nope'; create it with create_account."


def test_import_of_a_missing_file_fails(tenant: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No file"):
        run(tenant.account_id, str(tmp_path / "missing.jsonl"))


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / f"records-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path
