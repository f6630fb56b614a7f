"""import_qualityai and set_stream_settings."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from qualityai.models import QaContact, StreamSettings
from tests.conftest import Tenant
from tests.factories import BotFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db


def run(*args: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


# import_qualityai --------------------------------------------------------------------------------


def test_import_stores_valid_lines_and_reports_each_rejected_one(tenant: Tenant, tmp_path: Path) -> None:
    good = ContactDocumentFactory.build_batch(2)
    bad = ContactDocumentFactory(direction="sideways")
    path = write_lines(tmp_path / "contacts.jsonl", [good[0], "{broken", "", bad, good[1]])

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:  # the command exits 1 after its report
        call_command("import_qualityai", tenant.bot.bot_id, str(path), stdout=out, stderr=err)
    out, err = out.getvalue(), err.getvalue()

    assert str(failure.value).startswith("2 of 4 lines were rejected (listed above); the other lines are stored.")
    assert out.splitlines() == [
        "Read 4 lines: 2 created, 0 updated, 2 rejected.",
        "line 2: Not valid JSON: Expecting property name enclosed in double quotes at column 2.",
        "line 4: contactDirection: contactDirection must be inbound or outbound.",
    ]
    assert "100.0%" in err
    assert set(QaContact.objects.filter(stream=tenant.bot).values_list("conversation_id", flat=True)) == {
        good[0]["Conversation ID"], good[1]["Conversation ID"]
    }


def test_importing_the_same_file_twice_updates(tenant: Tenant, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "contacts.jsonl", ContactDocumentFactory.build_batch(3))
    run("import_qualityai", tenant.bot.bot_id, str(path))

    out, _ = run("import_qualityai", tenant.bot.bot_id, str(path))

    assert out.splitlines()[0] == "Read 3 lines: 0 created, 3 updated, 0 rejected."
    assert QaContact.objects.count() == 3


def test_import_into_an_unknown_stream_fails_clearly(db: Any, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "contacts.jsonl", [ContactDocumentFactory()])

    with pytest.raises(CommandError, match=r"^No stream \(bot/app\) 'st-nope'; add it with create_account --bot\.$"):
        run("import_qualityai", "st-nope", str(path))


def test_import_of_a_missing_file_fails_clearly(tenant: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"^No file '.*missing\.jsonl'\.$"):
        run("import_qualityai", tenant.bot.bot_id, str(tmp_path / "missing.jsonl"))
    assert not QaContact.objects.exists()


def test_a_stream_id_shared_by_two_accounts_needs_the_account(
    tenant: Tenant, outsider: Tenant, tmp_path: Path
) -> None:
    BotFactory(account=outsider.account, bot_id=tenant.bot.bot_id)
    path = write_lines(tmp_path / "contacts.jsonl", [ContactDocumentFactory()])

    with pytest.raises(CommandError, match="name the account with --account"):
        run("import_qualityai", tenant.bot.bot_id, str(path))
    run("import_qualityai", tenant.bot.bot_id, str(path), "--account", outsider.account_id)

    assert QaContact.objects.get().account == outsider.account


# set_stream_settings -----------------------------------------------------------------------------


def test_set_stream_settings_creates_then_changes_the_minimum(tenant: Tenant) -> None:
    out, _ = run("set_stream_settings", tenant.bot.bot_id, "--min-duration-seconds", "30")
    run("set_stream_settings", tenant.bot.bot_id, "--min-duration-seconds", "0")

    assert out == f"Stream {tenant.bot.bot_id} (account {tenant.account_id}): minimum duration 30 seconds.\n"
    assert StreamSettings.objects.get(stream=tenant.bot).min_duration_seconds == 0


@pytest.mark.parametrize("seconds", ["-1", "86401"])
def test_set_stream_settings_refuses_out_of_range_values(tenant: Tenant, seconds: str) -> None:
    with pytest.raises(CommandError, match=rf"^The minimum duration must be 0 to 86400 seconds, not {seconds}\.$"):
        run("set_stream_settings", tenant.bot.bot_id, "--min-duration-seconds", seconds)
    assert not StreamSettings.objects.exists()


def test_set_stream_settings_of_an_unknown_stream_fails_clearly(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match=rf"^No stream \(bot/app\) 'st-nope' in account {tenant.account_id};"):
        run("set_stream_settings", "st-nope", "--min-duration-seconds", "5", "--account", tenant.account_id)


def test_set_stream_settings_requires_the_minimum(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match="the following arguments are required: --min-duration-seconds"):
        run("set_stream_settings", tenant.bot.bot_id)
