"""Recording sources are untrusted: only http/https/s3, no internal addresses, no foreign redirects."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from recordings.grants import SourcePolicy
from recordings.jobs import recordings_process_due
from recordings.models import Recording, RecordingFile, RecordingState
from recordings.outbound import PRIVATE_HOST, Deadline, SourceRefused, address_refusal, redacted
from recordings.sources import source_open
from tests.recordings.conftest import FIRST, RecordingServer, Reply, first_attempt, register, register_served


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("::ffff:127.0.0.1", "127.0.0.1 is a loopback address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("192.168.0.10", "192.168.0.10 is a private address"),
        ("172.16.5.5", "172.16.5.5 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address"),
        ("169.254.10.1", "169.254.10.1 is a link-local address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),
        ("0.0.0.0", "0.0.0.0 is a private address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_internal_addresses_are_refused(address: str, reason: str | None) -> None:
    assert address_refusal(address) == reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::127.0.0.1", "::7f00:1 is an IPv4-compatible address (deprecated)"),
        ("::8.8.8.8", "::808:808 is an IPv4-compatible address (deprecated)"),
        ("::ffff:0:7f00:1", "::ffff:0:7f00:1 is an IPv4-translated address"),
        ("64:ff9b::127.0.0.1", "64:ff9b::7f00:1 embeds 127.0.0.1: 127.0.0.1 is a loopback address"),
        ("64:ff9b::a9fe:a9fe",
         "64:ff9b::a9fe:a9fe embeds 169.254.169.254: 169.254.169.254 is a cloud metadata address"),
        ("64:ff9b::10.0.0.1", "64:ff9b::a00:1 embeds 10.0.0.1: 10.0.0.1 is a private address"),
        ("64:ff9b:1::a00:1", "64:ff9b:1::a00:1 is a local-use NAT64 address"),
        ("2002:7f00:1::1", "2002:7f00:1::1 embeds 127.0.0.1: 127.0.0.1 is a loopback address"),
        ("2002:a9fe:a9fe::", "2002:a9fe:a9fe:: embeds 169.254.169.254: 169.254.169.254 is a cloud metadata address"),
        ("2002:c0a8:1::1", "2002:c0a8:1::1 embeds 192.168.0.1: 192.168.0.1 is a private address"),
        ("fec0::1", "fec0::1 is a site-local address (deprecated)"),
        ("feff::1", "feff::1 is a site-local address (deprecated)"),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
    ],
)
def test_ipv6_forms_of_internal_ipv4_addresses_are_refused(address: str, reason: str | None) -> None:
    assert address_refusal(address) == reason


@pytest.mark.parametrize(
    ("url", "msg"),
    [
        ("ftp://example.com/a.flac", "scheme 'ftp' is not allowed: only http, https and s3"),
        ("file:///etc/passwd", "scheme 'file' is not allowed: only http, https and s3"),
        ("http://127.0.0.1:9/a.flac", "host 127.0.0.1 resolves to 127.0.0.1: 127.0.0.1 is a loopback address"),
        ("http://localhost:9/a.flac", "host localhost resolves to"),
        ("http://169.254.169.254/latest/meta-data/",
         "host 169.254.169.254 resolves to 169.254.169.254: 169.254.169.254 is a cloud metadata address"),
        ("http://[::1]:9/a.flac", "host ::1 resolves to ::1: ::1 is a loopback address"),
        ("http:///a.flac", "the address has no host"),
        ("http://[::127.0.0.1]:9/a.flac", "host ::127.0.0.1 resolves to ::127.0.0.1: ::7f00:1 is an IPv4-compatible"),
        ("http://[64:ff9b::7f00:1]:9/a.flac",
         "host 64:ff9b::7f00:1 resolves to 64:ff9b::7f00:1: 64:ff9b::7f00:1 embeds 127.0.0.1"),
    ],
)
def test_refused_addresses_are_never_connected_to(settings: Any, url: str, msg: str) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = []
    with pytest.raises(SourceRefused) as raised:
        source_open(url, policy=SourcePolicy(), deadline=Deadline.from_setting("RECORDING_FETCH_MAX_SECONDS"))
    assert str(raised.value).startswith(msg)


def test_credentials_are_kept_out_of_logs() -> None:
    assert redacted("https://user:secret@rec.example.com:8443/a.flac?x=1") == "https://rec.example.com:8443/a.flac?x=1"


@pytest.mark.django_db
def test_loopback_source_without_allow_listing_is_media_unavailable_with_the_reason_logged(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any, caplog: Any
) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = []
    register_served(recording_server, tenant.account)
    clock.move_to(FIRST)

    with caplog.at_level(logging.WARNING, logger="recordings.jobs"):
        assert recordings_process_due() == {"media_unavailable": 1}

    assert recording_server.hits["/c1.flac"] == 0
    reason = "source refused: host 127.0.0.1 resolves to 127.0.0.1: 127.0.0.1 is a loopback address"
    assert RecordingFile.objects.get().last_error == reason
    assert reason in caplog.text
    assert Recording.objects.get().state == RecordingState.MEDIA_UNAVAILABLE
    # The account reads why, without the address its host resolved to.
    detail = tenant.get("/api/v1/recordings/c1").json()
    assert detail["failures"] == [{"channel": "mixed", "state": "media_unavailable", "reason": PRIVATE_HOST}]
    assert "127.0.0.1" not in str(detail)


@pytest.mark.django_db
def test_redirect_to_another_host_is_refused(
    tenant: Any, recording_server: RecordingServer, clock: Any, caplog: Any
) -> None:
    other = f"http://localhost:{recording_server.port}/final.flac"
    recording_server.serve("/final.flac", Reply())
    register_served(recording_server, tenant.account, Reply(status=302, body=b"", location=other))
    clock.move_to(FIRST)

    with caplog.at_level(logging.WARNING, logger="recordings.jobs"):
        assert recordings_process_due() == {"media_unavailable": 1}

    assert recording_server.hits["/final.flac"] == 0
    assert RecordingFile.objects.get().last_error == f"source refused: redirect to another host refused: {other}"
    assert RecordingFile.objects.get().reason == (
        "The source redirected to another host; only redirects within the same host are followed."
    )
    assert "redirect to another host refused" in caplog.text


@pytest.mark.django_db
def test_unsupported_scheme_is_media_unavailable(tenant: Any, clock: Any) -> None:
    # Registration refuses such a source; one stored before that rule is still refused by the fetcher.
    register(tenant.account, "c1", ("https://rec.example.com/c1", "mixed"))
    RecordingFile.objects.update(source_url="gopher://rec.example.com/c1")
    assert first_attempt(clock) == {"media_unavailable": 1}
    assert RecordingFile.objects.get().last_error == (
        "source refused: scheme 'gopher' is not allowed: only http, https and s3"
    )
    assert RecordingFile.objects.get().reason == "Only http, https and s3 sources are fetched."


@pytest.fixture
def console() -> Any:
    """The configured console log handler, writing into a buffer for the test."""
    [handler] = [item for item in logging.getLogger().handlers if getattr(item, "name", "") == "console"]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.mark.django_db
def test_a_stored_address_with_control_characters_is_logged_on_one_line(
    tenant: Any, clock: Any, console: io.StringIO
) -> None:
    # Stored before ingestion refused such addresses: the log line must still be one line.
    forged = "gopher://rec.example/c1\r\n2026-03-02 10:10:00,000 CRITICAL recordings.jobs [-] forged\x1b[2J"
    recording = register(tenant.account, "c1", ("https://rec.example/c1.flac", "mixed"))
    RecordingFile.objects.filter(recording=recording).update(source_url=forged)
    assert first_attempt(clock) == {"media_unavailable": 1}

    lines = [line for line in console.getvalue().splitlines() if "recordings.jobs" in line]
    assert len(lines) == 1
    escaped = "gopher://rec.example/c1\\r\\n2026-03-02 10:10:00,000 CRITICAL recordings.jobs [-] forged\\x1b[2J"
    assert escaped in lines[0]
    assert "\x1b" not in console.getvalue()
