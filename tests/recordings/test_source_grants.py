"""s3:// sources and internal hosts are reachable only where an operator granted them to the account.

Against moto's S3 server and a real recording server on 127.0.0.1, with two accounts: the attacker
(``tenant``) names other buckets, other prefixes and escaping keys; none of it is fetched or stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from recordings.grants import GrantInvalid, SourcePolicy, grant_parse, s3_location
from recordings.models import Recording, RecordingFile, RecordingSourceGrant, RecordingState
from recordings.outbound import Deadline, SourceRefused
from recordings.services import recording_source_grant_add
from recordings.sources import source_open
from recordings.storage import s3_client, source_s3_client
from tests.recordings.conftest import AUDIO, RecordingServer, Reply, first_attempt, register, register_served
from tests.servers import serving

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = "source refused: the address is outside the s3 locations granted to this account"
DISABLED = "source refused: s3 sources are disabled on this service (RECORDING_SOURCE_S3_ENABLED)"


@pytest.fixture
def buckets(s3: Any, settings: Any) -> Any:
    """s3:// sources switched on; a bucket granted under ``prefix/`` and another tenant's bucket."""
    settings.RECORDING_SOURCE_S3_ENABLED = True
    suffix = uuid.uuid4().hex[:8]
    s3.granted, s3.other = f"granted-{suffix}", f"other-{suffix}"
    s3.create_bucket(Bucket=s3.granted)
    s3.create_bucket(Bucket=s3.other)
    for key in ("prefix/c1.flac", "other-prefix/key.flac", "x", "prefix/%2e%2e/x", "prefix2/x"):
        s3.put_object(Bucket=s3.granted, Key=key, Body=AUDIO)
    s3.put_object(Bucket=s3.other, Key="dump.sql", Body=b"-- another tenant's database dump")
    s3.put_object(Bucket=s3.other, Key="calls/victim.flac", Body=AUDIO)
    return s3


def stored_keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", []))


def grant(account: Any, text: str) -> None:
    recording_source_grant_add(account=account, source=text, actor="test")


@pytest.mark.parametrize(
    "path",
    [
        "{other}/dump.sql",
        "{other}/calls/victim.flac",
        "{granted}/other-prefix/key.flac",
        "{granted}/prefix/../x",
        "{granted}/prefix/%2e%2e/x",
        "{granted}/prefix%2F..%2Fx",
        "{granted}/prefix/%252e%252e/x",
        "{granted}/prefix/.%2E/x",
        "{granted}/prefix/..%5Cx",
        "{granted}/prefix2/x",
        "{granted}/x",
    ],
)
def test_s3_source_outside_the_accounts_grants_is_refused_and_nothing_is_stored(
    tenant: Any, outsider: Any, buckets: Any, clock: Any, path: str
) -> None:
    grant(tenant.account, f"s3://{buckets.granted}/prefix")
    grant(outsider.account, f"s3://{buckets.other}/")
    register(tenant.account, "c1", ("s3://" + path.format(granted=buckets.granted, other=buckets.other), "agent"))
    assert first_attempt(clock) == {"media_unavailable": 1}

    item = RecordingFile.objects.get()
    assert item.last_error.startswith("source refused: ")
    assert (item.size_bytes, item.storage_key) == (None, "")
    assert stored_keys(buckets) == []
    assert Recording.objects.get().state == RecordingState.MEDIA_UNAVAILABLE


def test_refusal_reasons_name_no_other_tenant_and_the_api_shows_the_documented_state(
    tenant: Any, outsider: Any, buckets: Any, clock: Any
) -> None:
    grant(outsider.account, f"s3://{buckets.other}/")
    register(tenant.account, "c1", (f"s3://{buckets.other}/dump.sql", "agent"))
    register(tenant.account, "c2", (f"s3://{buckets.granted}/prefix/../x", "agent"))
    assert first_attempt(clock) == {"media_unavailable": 2}

    errors = dict(RecordingFile.objects.values_list("recording__conversation_id", "last_error"))
    assert errors == {"c1": OUTSIDE, "c2": "source refused: an s3 key may not contain . or .. segments"}
    response = tenant.get("/api/v1/recordings/c1")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["message"], response.json()["files"]) == (
        "media_unavailable",
        "No audio recording found on the server. Please contact your administrator.",
        [],
    )
    # The account reads why in a sentence that names no bucket, setting or other tenant.
    assert response.json()["failures"] == [
        {"channel": "agent", "state": "media_unavailable", "reason": "The source is outside this account's s3 grants."}
    ]
    assert tenant.get("/api/v1/recordings/c2").json()["failures"][0]["reason"] == (
        "The source is not a valid s3://bucket/key address."
    )


def test_granted_s3_source_is_fetched_for_its_account_only(
    tenant: Any, outsider: Any, buckets: Any, clock: Any
) -> None:
    grant(tenant.account, f"s3://{buckets.granted}/prefix/")
    grant(outsider.account, f"s3://{buckets.other}/calls/")
    register(tenant.account, "mine", (f"s3://{buckets.granted}/prefix/c1.flac", "agent"))
    register(outsider.account, "theirs", (f"s3://{buckets.other}/calls/victim.flac", "agent"))
    register(outsider.account, "not-theirs", (f"s3://{buckets.granted}/prefix/c1.flac", "agent"))
    assert first_attempt(clock) == {"available": 2, "media_unavailable": 1}

    states = dict(RecordingFile.objects.values_list("recording__conversation_id", "state"))
    assert states == {"mine": "available", "theirs": "available", "not-theirs": "media_unavailable"}
    assert len(stored_keys(buckets)) == 2
    download = tenant.get("/api/v1/recordings/mine/download")
    assert download.status_code == 302


def test_with_s3_sources_disabled_every_s3_source_is_refused(
    tenant: Any, buckets: Any, clock: Any, settings: Any
) -> None:
    settings.RECORDING_SOURCE_S3_ENABLED = False
    grant(tenant.account, f"s3://{buckets.granted}/prefix/")
    register(tenant.account, "c1", (f"s3://{buckets.granted}/prefix/c1.flac", "agent"))
    register(tenant.account, "c2", (f"s3://{buckets.other}/dump.sql", "agent"))
    assert first_attempt(clock) == {"media_unavailable": 2}

    assert set(RecordingFile.objects.values_list("last_error", flat=True)) == {DISABLED}
    reasons = set(RecordingFile.objects.values_list("reason", flat=True))
    assert reasons == {"s3 sources are not enabled on this service."}
    assert stored_keys(buckets) == []


def _settings_of(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("RECORDING_SOURCE_")}
    return subprocess.run(
        [sys.executable, "-c", "import analytics_api.settings as s; print(s.RECORDING_SOURCE_S3_ENABLED)"],
        cwd=ROOT, env={**clean, "VAR_DIR": str(tmp_path), **env}, capture_output=True, text=True, timeout=60,
    )


def test_s3_sources_are_off_by_default(tmp_path: Path) -> None:
    assert _settings_of(tmp_path).stdout.strip() == "False"
    assert _settings_of(tmp_path, RECORDING_SOURCE_S3_ENABLED="true").stdout.strip() == "True"


def test_a_source_access_key_without_its_secret_fails_at_start(tmp_path: Path) -> None:
    result = _settings_of(tmp_path, RECORDING_SOURCE_AWS_ACCESS_KEY_ID="AKIA")
    assert result.returncode != 0
    assert (
        "RECORDING_SOURCE_AWS_ACCESS_KEY_ID and RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY must be set together"
        in result.stderr
    )


def test_a_revoked_grant_applies_to_the_next_attempt(tenant: Any, buckets: Any, clock: Any) -> None:
    grant(tenant.account, f"s3://{buckets.granted}/prefix/")
    call_command("recording_source_grants", tenant.account.account_id, "--remove", f"s3://{buckets.granted}/prefix",
                 stdout=StringIO())
    register(tenant.account, "c1", (f"s3://{buckets.granted}/prefix/c1.flac", "agent"))
    assert first_attempt(clock) == {"media_unavailable": 1}
    assert RecordingFile.objects.get().last_error == OUTSIDE


@pytest.mark.parametrize(
    ("url", "msg"),
    [
        ("s3://bkt/k?versionId=1", "an s3 address has no query or fragment: write ? and # in a key as %3F and %23"),
        ("s3://bkt/k#x", "an s3 address has no query or fragment: write ? and # in a key as %3F and %23"),
        ("s3://user@bucket/k", "an s3 address must be s3://bucket/key with a valid bucket name"),
        ("s3://bucket:9000/k", "an s3 address must be s3://bucket/key with a valid bucket name"),
        ("s3://bucket/a/%2E/b", "an s3 key may not contain . or .. segments"),
        ("s3://bucket/a/%00", "an s3 key may not contain control characters"),
        ("s3://bucket/a/%0d%0ab", "an s3 key may not contain control characters"),
        ("s3://bucket/a/%ff", "an s3 key must be percent-encoded UTF-8"),
        ("s3://bucket/a/%2541", "an s3 key may not be percent-encoded twice"),
    ],
)
def test_s3_addresses_that_could_name_another_key_are_refused(url: str, msg: str) -> None:
    with pytest.raises(GrantInvalid) as raised:
        s3_location(url)
    assert str(raised.value) == msg


def test_keys_are_compared_decoded() -> None:
    policy = SourcePolicy.of(["s3://bucket/tenant a/"])

    assert policy.allows_s3(s3_location("s3://bucket/tenant%20a/c1.flac"))
    assert not policy.allows_s3(s3_location("s3://bucket/tenant%20ab/c1.flac"))
    assert not policy.allows_s3(s3_location("s3://other/tenant%20a/c1.flac"))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("s3://bucket/prefix", "s3://bucket/prefix/"),
        ("  s3://bucket/prefix/  ", "s3://bucket/prefix/"),
        ("s3://bucket", "s3://bucket/"),
        ("S3://bucket/a%20b/", "s3://bucket/a b/"),
        ("Recorder.Internal", "recorder.internal"),
        ("[::1]", "::1"),
        ("10.0.0.5", "10.0.0.5"),
    ],
)
def test_grants_are_stored_in_one_canonical_form(text: str, canonical: str) -> None:
    assert grant_parse(text).text == canonical


@pytest.mark.parametrize("text", ["", "s3://bucket/../x/", "http://recorder.internal/", "recorder internal", "s3://b"])
def test_malformed_grants_are_refused(text: str) -> None:
    with pytest.raises(GrantInvalid):
        grant_parse(text)


def test_the_recordings_bucket_is_never_a_source_even_when_granted(tenant: Any, buckets: Any, clock: Any) -> None:
    buckets.put_object(Bucket=buckets.bucket, Key="recordings/other-tenant.flac", Body=AUDIO)
    grant(tenant.account, f"s3://{buckets.bucket}/")
    register(tenant.account, "c1", (f"s3://{buckets.bucket}/recordings/other-tenant.flac", "agent"))
    assert first_attempt(clock) == {"media_unavailable": 1}
    assert RecordingFile.objects.get().last_error == (
        "source refused: the recordings bucket itself is not a recording source"
    )


# --- Credentials --------------------------------------------------------------------------------


@pytest.fixture
def source_endpoint() -> Iterator[dict[str, Any]]:
    """A stand-in S3 endpoint for sources on 127.0.0.1: answers any GET with the audio, keeps the
    Authorization headers it saw."""
    seen: dict[str, Any] = {"authorization": [], "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["authorization"].append(self.headers.get("Authorization", ""))
            seen["paths"].append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(AUDIO)))
            self.send_header("Content-Type", "audio/flac")
            self.end_headers()
            self.wfile.write(AUDIO)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base_url:
        seen["url"] = base_url
        yield seen


def test_sources_are_read_with_their_own_credentials_and_endpoint_when_configured(
    tenant: Any, buckets: Any, clock: Any, settings: Any, source_endpoint: dict[str, Any]
) -> None:
    settings.RECORDING_SOURCE_AWS_ACCESS_KEY_ID = "source-reader"
    settings.RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY = "source-secret"
    settings.RECORDING_SOURCE_AWS_ENDPOINT_URL = source_endpoint["url"]
    grant(tenant.account, "s3://call-audio/tenant-a/")
    register(tenant.account, "c1", ("s3://call-audio/tenant-a/c1.flac", "agent"))
    assert first_attempt(clock) == {"available": 1}

    assert source_endpoint["paths"] == ["/call-audio/tenant-a/c1.flac"]
    [authorization] = source_endpoint["authorization"]
    assert "Credential=source-reader/" in authorization
    assert len(stored_keys(buckets)) == 1  # stored with storage's own client, on the storage endpoint


def test_without_source_credentials_the_storage_client_reads_sources(s3: Any) -> None:
    assert source_s3_client() is s3_client()


# --- Internal hosts -----------------------------------------------------------------------------


def test_an_internal_host_is_reachable_only_by_the_accounts_it_is_granted_to(
    tenant: Any, outsider: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = []
    settings.RECORDING_SOURCE_ALLOWED_HOSTS = ["127.0.0.1"]
    grant(outsider.account, "127.0.0.1")
    url = recording_server.serve("/theirs.flac", Reply())
    register(outsider.account, "theirs", (url, "mixed"))
    register(tenant.account, "stolen", (url, "mixed"))
    assert first_attempt(clock) == {"available": 1, "media_unavailable": 1}

    assert recording_server.hits["/theirs.flac"] == 1
    stolen = RecordingFile.objects.get(recording__conversation_id="stolen")
    assert stolen.last_error == "source refused: host 127.0.0.1 resolves to 127.0.0.1: 127.0.0.1 is a loopback address"
    assert stolen.reason == (
        "The source's host resolves to a private address and is not granted to this account; "
        "an operator can grant it (manage.py recording_source_grants)."
    )


def test_a_granted_host_outside_the_operators_list_stays_refused(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = []
    settings.RECORDING_SOURCE_ALLOWED_HOSTS = []
    grant(tenant.account, "127.0.0.1")
    register_served(recording_server, tenant.account)
    assert first_attempt(clock) == {"media_unavailable": 1}
    assert recording_server.hits["/c1.flac"] == 0


def test_a_shared_host_is_reachable_by_every_account(
    tenant: Any, outsider: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = ["127.0.0.1"]
    register(tenant.account, "a", (recording_server.serve("/a.flac", Reply()), "mixed"))
    register(outsider.account, "b", (recording_server.serve("/b.flac", Reply()), "mixed"))
    assert first_attempt(clock) == {"available": 2}


def test_a_metadata_address_is_refused_even_for_an_allowed_host(settings: Any) -> None:
    settings.RECORDING_SOURCE_SHARED_HOSTS = ["169.254.169.254"]
    with pytest.raises(SourceRefused) as raised:
        source_open(
            "http://169.254.169.254/latest/meta-data/",
            policy=SourcePolicy(),
            deadline=Deadline.from_setting("RECORDING_FETCH_MAX_SECONDS"),
        )
    assert str(raised.value) == (
        "host 169.254.169.254 resolves to 169.254.169.254: 169.254.169.254 is a cloud metadata address"
    )


# --- Operators set grants -----------------------------------------------------------------------


def test_the_command_adds_lists_and_removes_grants(tenant: Any, settings: Any) -> None:
    settings.RECORDING_SOURCE_S3_ENABLED = False
    out, err = StringIO(), StringIO()
    account_id = tenant.account.account_id

    call_command(
        "recording_source_grants", account_id, "--add", "s3://call-audio/tenant-a", "--add", "Recorder.Internal",
        stdout=out, stderr=err,
    )
    call_command("recording_source_grants", account_id, "--add", "s3://call-audio/tenant-a/", stdout=out, stderr=err)
    call_command("recording_source_grants", account_id, "--remove", "recorder.internal", stdout=out, stderr=err)
    listing = StringIO()
    call_command("recording_source_grants", account_id, "--list", stdout=listing)

    assert out.getvalue().splitlines()[:2] == ["Added: s3://call-audio/tenant-a/", "Added: recorder.internal"]
    assert "Already granted: s3://call-audio/tenant-a/" in out.getvalue()
    assert "Removed: recorder.internal" in out.getvalue()
    assert "Warning: s3 sources are disabled (RECORDING_SOURCE_S3_ENABLED=false)" in err.getvalue()
    assert "Warning: host recorder.internal is not in RECORDING_SOURCE_ALLOWED_HOSTS" in err.getvalue()
    assert listing.getvalue().splitlines() == [f"Grants of account {account_id}: 1", "  s3://call-audio/tenant-a/"]


def test_the_command_refuses_a_malformed_grant_and_changes_nothing(tenant: Any) -> None:
    with pytest.raises(CommandError, match=r"Invalid grant: an s3 key may not contain \. or \.\. segments\."):
        call_command(
            "recording_source_grants", tenant.account.account_id, "--add", "s3://okay/", "--add", "s3://bkt/../x/",
            stdout=StringIO(),
        )
    assert not RecordingSourceGrant.objects.exists()
    with pytest.raises(CommandError, match="No account 'nope'"):
        call_command("recording_source_grants", "nope", "--list", stdout=StringIO())


@pytest.mark.urls("tests.recordings.admin_urls")
def test_an_admin_adds_a_grant_in_its_canonical_form(tenant: Any) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))

    assert client.get("/admin/recordings/recordingsourcegrant/").status_code == 200
    response = client.post(
        "/admin/recordings/recordingsourcegrant/add/", {"account": tenant.account.pk, "source": "s3://bkt/p"}
    )
    bad = client.post(
        "/admin/recordings/recordingsourcegrant/add/", {"account": tenant.account.pk, "source": "s3://bkt/../p"}
    )

    assert response.status_code == 302
    assert list(RecordingSourceGrant.objects.values_list("source", flat=True)) == ["s3://bkt/p/"]
    assert bad.status_code == 200
    assert "an s3 key may not contain . or .. segments" in bad.content.decode()
