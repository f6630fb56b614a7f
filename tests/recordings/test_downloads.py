"""Recording downloads as the reference describes them: the single file, one channel, a zip of channels — all FLAC."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
import soundfile

from recordings.models import Recording
from tests.audio import audio
from tests.recordings.conftest import AUDIO, OTHER_AUDIO, RecordingServer, Reply, first_attempt, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def available(tenant: Any, recording_server: RecordingServer, clock: Any) -> Recording:
    """c1 fetched: an agent file and a customer file."""
    agent = recording_server.serve("/agent.flac", Reply())
    customer = recording_server.serve("/customer.flac", Reply(body=OTHER_AUDIO))
    register(tenant.account, "c1", (agent, "agent"), (customer, "customer"))
    first_attempt(clock)
    return Recording.objects.get(conversation_id="c1")


def unzipped(response: Any) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist()}


def is_flac(data: bytes) -> bool:
    return data[:4] == b"fLaC" and soundfile.info(io.BytesIO(data)).format == "FLAC"


def test_channels_answers_a_zip_of_the_chosen_channels_real_flac_files(tenant: Any, available: Recording) -> None:
    response = tenant.get("/api/v1/recordings/c1/download?channels=customer,agent")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="c1-channels.zip"'
    files = unzipped(response)
    assert files == {"c1-customer.flac": OTHER_AUDIO, "c1-agent.flac": AUDIO}
    assert all(is_flac(data) for data in files.values())
    assert unzipped(tenant.get("/api/v1/recordings/c1/download?channels=agent")) == {"c1-agent.flac": AUDIO}


def test_the_single_file_and_each_channel_are_flac(tenant: Any, available: Recording) -> None:
    for query in ("", "?channel=agent", "?channel=customer"):
        response = tenant.get(f"/api/v1/recordings/c1/download{query}")
        assert response.status_code == 200
        assert is_flac(b"".join(response.streaming_content)), query


def test_a_chosen_channel_without_a_file_is_404(tenant: Any, available: Recording) -> None:
    response = tenant.get("/api/v1/recordings/c1/download?channels=agent,mixed")

    assert response.status_code == 404
    assert response.json() == {"errors": [
        {"msg": "This recording has no available mixed file.", "code": "not_found", "field": "channel"}
    ]}


def test_bad_channels_and_channels_with_channel_are_400(tenant: Any, available: Recording) -> None:
    bad = tenant.get("/api/v1/recordings/c1/download?channels=agent,both")
    mixed_up = tenant.get("/api/v1/recordings/c1/download?channels=agent&channel=agent")

    assert bad.status_code == mixed_up.status_code == 400
    assert bad.json() == {"errors": [{
        "msg": "channels must be a comma-separated list of mixed, agent, customer, not 'agent,both'.",
        "code": "invalid", "field": "channels",
    }]}
    assert mixed_up.json() == {"errors": [{
        "msg": "channels (a zip of several channels) cannot be combined with channel or part.",
        "code": "invalid", "field": "channels",
    }]}


def test_another_accounts_recording_is_404_for_every_form(tenant: Any, outsider: Any, available: Recording) -> None:
    for query in ("", "?channel=agent", "?channels=agent,customer"):
        response = outsider.get(f"/api/v1/recordings/c1/download{query}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"


def test_from_s3_the_zip_and_the_stereo_file_are_streamed_through(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any
) -> None:
    agent = recording_server.serve("/agent.flac", Reply())
    customer = recording_server.serve("/customer.flac", Reply(body=OTHER_AUDIO))
    register(tenant.account, "c1", (agent, "agent"), (customer, "customer"))
    first_attempt(clock)

    zipped = tenant.get("/api/v1/recordings/c1/download?channels=agent,customer")
    stereo = tenant.get("/api/v1/recordings/c1/download")

    assert unzipped(zipped) == {"c1-agent.flac": AUDIO, "c1-customer.flac": OTHER_AUDIO}
    assert stereo.status_code == 200
    data = b"".join(stereo.streaming_content)
    assert is_flac(data) and soundfile.info(io.BytesIO(data)).channels == 2


def test_files_of_different_sample_rates_cannot_be_joined_so_a_channel_is_asked_for(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    agent = recording_server.serve("/agent.flac", Reply())
    customer = recording_server.serve("/customer.flac", Reply(body=audio(rate=8000)))
    register(tenant.account, "c1", (agent, "agent"), (customer, "customer"))
    first_attempt(clock)

    response = tenant.get("/api/v1/recordings/c1/download")

    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "msg": "The agent and customer files cannot be joined (sample rates 16000 Hz and 8000 Hz differ): "
        "choose a channel (agent, customer).",
        "code": "required", "field": "channel",
    }]}
