"""Fetched recordings are readable by the service's own user only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from recordings.jobs import recordings_process_due
from tests.recordings.conftest import AUDIO, CALL_END, RecordingServer, register_served

pytestmark = pytest.mark.django_db


def test_a_fetched_recording_and_its_directories_are_private_to_the_service(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account)
    clock.move_to(CALL_END + timedelta(minutes=10))
    assert recordings_process_due() == {"available": 1}

    root = Path(settings.MEDIA_ROOT)
    [stored] = [path for path in root.rglob("*") if path.is_file()]
    assert stored.read_bytes() == AUDIO
    assert stored.stat().st_mode & 0o777 == 0o600
    directories = [root, *(path for path in root.rglob("*") if path.is_dir())]
    assert len(directories) >= 2
    assert {path.relative_to(root).as_posix(): path.stat().st_mode & 0o777 for path in directories} == {
        path.relative_to(root).as_posix(): 0o700 for path in directories
    }
