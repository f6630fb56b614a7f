"""``manage.py demo_setup`` (what ``make run`` prints): the demo account always has data for the README's dates."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import soundfile
import time_machine
from django.core.management import call_command

from analytics_api.models import Account
from conversations.models import Interaction
from recordings.models import Recording
from recordings.storage import recording_storage

TODAY = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def demo_setup() -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def test_demo_setup_prints_the_scopes_and_the_readme_exports(db: Any) -> None:
    with time_machine.travel(TODAY, tick=False):
        text = demo_setup()

    assert "Seeding demo data (seed_demo)..." in text
    scopes = re.search(r"scopes: (.+)", text).group(1).split()
    assert scopes == [
        "account.admin", "exports", "ingest", "qualityai.analytics", "recordings", "smartassist.analytics",
    ]
    assert "export START=2026-03-04 END=2026-03-10" in text
    assert re.search(r"^export TOKEN=\S+$", text, re.MULTILINE)
    account = Account.objects.get()
    assert f"export ACCOUNT={account.account_id} ORG={account.org_id} STREAM=st-" in text
    # A demo call whose recording plays: its stored FLAC decodes.
    conversation = re.search(r"^export CONVERSATION=(c-\S+)$", text, re.MULTILINE).group(1)
    recording = Recording.objects.get(account=account, conversation_id=conversation)
    assert recording.state == "available"
    [item] = recording.files.all()
    with recording_storage().open(item.storage_key) as stored:
        info = soundfile.info(io.BytesIO(stored.read()))
    assert (info.format, info.duration) == ("FLAC", 6.0)
    assert Recording.objects.filter(account=account, state="available").count() == 5
    assert Recording.objects.filter(account=account, state="failed").count() == 1


def test_demo_data_is_moved_forward_when_it_no_longer_covers_today(db: Any) -> None:
    with time_machine.travel(TODAY, tick=False):
        demo_setup()
        count = Interaction.objects.count()
        assert "Seeding" not in demo_setup()  # same day: nothing to do

    later = TODAY + timedelta(days=30)
    with time_machine.travel(later, tick=False):
        assert "Seeding demo data (seed_demo)..." in demo_setup()

    today = datetime(2026, 4, 9, tzinfo=UTC)
    assert Interaction.objects.count() == count  # re-seeded in place, not duplicated
    assert Interaction.objects.filter(session_start__gte=today).exists()
    assert not Interaction.objects.filter(session_start__lt=today - timedelta(days=13)).exists()
