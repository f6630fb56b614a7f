"""Trickling sources (valid headers, then a byte at a time) are cut at the fetch deadline, and one
account's fetches in flight are capped so that other accounts' files are still taken."""

from __future__ import annotations

import io
import ipaddress
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import call_command

from recordings.jobs import recording_file_fetch, recording_files_claim, recordings_process_due
from recordings.models import RecordingFile, RecordingState
from recordings.services import recording_source_grant_add
from tests.recordings.conftest import (
    AUDIO,
    CALL_END,
    FIRST,
    RecordingServer,
    Reply,
    _handler,
    assert_given_up,
    register,
    register_served,
    state_of,
    stored_files,
)

pytestmark = pytest.mark.django_db

DEADLINE_S = 2
# Slack above the deadline for a cut attempt: one trickle interval, recording the outcome, a loaded CI.
SLACK_S = 1.5
TRICKLE = Reply(trickle=0.2)


class Hung(BaseException):
    """The code under test was still waiting long after every deadline (it would have hung for ever).

    A BaseException, so that no ``except Exception`` of the fetch turns it into a recorded failure.
    """


@pytest.fixture
def deadline(settings: Any, recording_server: RecordingServer) -> Iterator[None]:
    """A 2-second fetch deadline, and an alarm that fails (instead of hanging) a test stuck far past it."""
    settings.RECORDING_FETCH_MAX_SECONDS = DEADLINE_S
    settings.RECORDING_READ_TIMEOUT_SECONDS = 1

    def alarm(signum: int, frame: Any) -> None:
        raise Hung("still waiting 20 s into the test")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 20)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed(work: Any) -> tuple[Any, float]:
    began = time.perf_counter()  # time-machine leaves perf_counter alone
    result = work()
    return result, time.perf_counter() - began


def test_a_source_trickling_its_body_is_cut_at_the_deadline_and_ends_24hr_retry_failed(
    tenant: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None
) -> None:
    register_served(recording_server, tenant.account, TRICKLE)
    ticking_clock.move_to(FIRST)

    outcome, took = timed(recordings_process_due)

    assert outcome == {"partial_download_failed": 1}
    assert DEADLINE_S <= took < DEADLINE_S + SLACK_S
    assert state_of() == (
        "partial_download_failed", "Unable to fetch the recording. Please click the button below to retry."
    )
    item = RecordingFile.objects.get()
    assert item.last_error.startswith(f"gave up after {DEADLINE_S} s at ")
    assert 0 < int(item.last_error.split(" at ")[1].split()[0]) < len(AUDIO)
    assert (item.claim_token, item.claimed_until, item.attempt_kind) == ("", None, "auto_retry")
    assert stored_files() == []  # the partial object is removed

    ticking_clock.move_to(item.due_at)
    outcome, took = timed(recordings_process_due)

    assert outcome == {"24hr_retry_failed": 1}
    assert took < DEADLINE_S + SLACK_S
    item.refresh_from_db()
    assert (item.attempts, item.due_at) == (2, None)
    assert stored_files() == []
    assert_given_up(recording_server, ticking_clock, hits=2)


def test_a_source_trickling_its_headers_is_cut_at_the_deadline(
    tenant: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None
) -> None:
    register_served(recording_server, tenant.account, Reply(headers_trickle=0.2))
    ticking_clock.move_to(FIRST)

    outcome, took = timed(recordings_process_due)

    assert outcome == {"initial_fetch_failed": 1}
    assert took < DEADLINE_S + SLACK_S
    assert RecordingFile.objects.get().last_error == (
        f"TimeoutError: gave up after {DEADLINE_S} s (RECORDING_FETCH_MAX_SECONDS)"
    )


def test_a_source_trickling_through_a_redirect_is_cut_at_one_deadline_for_both(
    tenant: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None
) -> None:
    recording_server.serve("/final.flac", TRICKLE)
    redirect = Reply(status=302, body=b"", location="/final.flac", headers_delay=0.8)
    register_served(recording_server, tenant.account, redirect)
    ticking_clock.move_to(FIRST)

    outcome, took = timed(recordings_process_due)

    assert outcome == {"partial_download_failed": 1}
    assert took < DEADLINE_S + SLACK_S


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (nothing is downloaded)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    # OpenSSL checks validity against the real clock, not the test's: a wide window.
    valid_from, valid_to = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(valid_from).not_valid_after(valid_to)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return cert_path, key_path


def test_a_source_trickling_over_https_is_cut_at_the_deadline(
    tenant: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None, tmp_path: Path,
    monkeypatch: Any,
) -> None:
    cert, key = _self_signed(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recording_server))
    httpd.daemon_threads = True
    httpd.socket = server_side.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    trusting = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda: trusting(cafile=str(cert)))
    recording_server.serve("/ok.flac", Reply())
    recording_server.serve("/slow.flac", TRICKLE)
    base = f"https://127.0.0.1:{httpd.server_address[1]}"
    register(tenant.account, "ok", (f"{base}/ok.flac", "mixed"))
    register(tenant.account, "c1", (f"{base}/slow.flac", "mixed"))
    ticking_clock.move_to(FIRST)

    try:
        outcome, took = timed(recordings_process_due)
    finally:
        httpd.shutdown()
        httpd.server_close()

    assert outcome == {"available": 1, "partial_download_failed": 1}
    assert took < DEADLINE_S + SLACK_S + 1
    assert RecordingFile.objects.get(recording__conversation_id="c1").last_error.startswith(
        f"gave up after {DEADLINE_S} s at "
    )


def test_a_trickling_s3_source_is_cut_at_the_deadline(
    tenant: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None, settings: Any,
    monkeypatch: Any,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    # The S3 endpoint itself trickles: boto3 talks to this server (path-style: /bucket/key).
    settings.AWS_ENDPOINT_URL = recording_server.url("")
    settings.RECORDING_SOURCE_S3_ENABLED = True
    recording_source_grant_add(account=tenant.account, source="s3://calls/", actor="test")
    recording_server.serve("/calls/c1.flac", TRICKLE)
    register(tenant.account, "c1", ("s3://calls/c1.flac", "mixed"))
    ticking_clock.move_to(FIRST)

    outcome, took = timed(recordings_process_due)

    assert outcome == {"partial_download_failed": 1}
    assert took < DEADLINE_S + SLACK_S
    assert RecordingFile.objects.get().last_error.startswith(f"gave up after {DEADLINE_S} s at ")
    assert stored_files() == []


def test_process_recordings_returns_with_trickling_sources(
    tenant: Any, outsider: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None
) -> None:
    register_served(recording_server, tenant.account, TRICKLE)
    register(tenant.account, "c2", (recording_server.serve("/c2.flac", TRICKLE), "mixed"))
    register(outsider.account, "c3", (recording_server.serve("/c3.flac", Reply()), "mixed"))
    ticking_clock.move_to(FIRST)
    out = io.StringIO()

    _, took = timed(lambda: call_command("process_recordings", "--skip-retention", stdout=out))

    assert out.getvalue() == "Recording fetches: available: 1, partial_download_failed: 2\n"
    assert took < 2 * DEADLINE_S + SLACK_S


def test_one_account_cannot_take_more_than_its_share_of_fetches(
    tenant: Any, outsider: Any, recording_server: RecordingServer, ticking_clock: Any, deadline: None,
    settings: Any
) -> None:
    settings.RECORDING_FETCHES_PER_ACCOUNT = 2
    for number in range(4):  # one ingest client's calls, all due before the other account's one
        url = recording_server.serve(f"/a{number}.flac", TRICKLE)
        register(tenant.account, f"a{number}", (url, "mixed"), ended=CALL_END - timedelta(hours=1))
    register(outsider.account, "b", (recording_server.serve("/b.flac", Reply()), "mixed"))
    ticking_clock.move_to(FIRST)

    # Two workers' worth of claims: the other account's file is among them, not a third of the first's.
    first = recording_files_claim(limit=2)
    accounts = {RecordingFile.objects.get(pk=claim.file_id).recording.account_id for claim in first}
    assert accounts == {tenant.account.pk, outsider.account.pk}
    more = recording_files_claim(limit=10)
    assert len(more) == 1  # the first account's second fetch; its cap of two is now reached
    assert recording_files_claim(limit=10) == []

    [other] = [claim for claim in first if RecordingFile.objects.get(pk=claim.file_id).recording.conversation_id == "b"]
    assert recording_file_fetch(claim=other) == RecordingState.AVAILABLE  # while the first account's trickle
    assert state_of("b")[0] == "available"

    for claim in [claim for claim in first + more if claim is not other]:
        outcome, took = timed(lambda claim=claim: recording_file_fetch(claim=claim))
        assert outcome == RecordingState.PARTIAL_DOWNLOAD_FAILED
        assert took < DEADLINE_S + SLACK_S
    # Their slots are free again: the first account's remaining files are taken, two at most.
    assert len(recording_files_claim(limit=10)) == 2
    assert recording_files_claim(limit=10) == []
