"""Downloading export files: streamed with Range from the filesystem, a presigned redirect on S3."""

from __future__ import annotations

import hashlib
import urllib.request
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.conversations.conftest import ingest
from tests.conversations.factories import SessionRecordFactory
from tests.exports.conftest import DAY, EXPORTS, download, export_create, exported, stored_files

BODY = {"dataset": "interactions", **DAY}


@pytest.fixture
def document(tenant: Tenant) -> dict[str, Any]:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(40)])
    return exported(tenant, BODY)


def _path(document: dict[str, Any], n: int = 1) -> str:
    return f"{EXPORTS}/{document['id']}/files/{n}"


def test_a_file_is_streamed_whole_with_its_checksum_as_etag(tenant: Tenant, document: dict[str, Any]) -> None:
    [item] = document["manifest"]["files"]
    response = tenant.get(_path(document), Accept="application/octet-stream")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == item["sha256"]
    assert response["Content-Length"] == str(item["bytes"])
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{item["sha256"]}"'
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == f'attachment; filename="interactions-{document["id"]}-00001.ndjson"'


@pytest.mark.parametrize(
    ("header", "span"),
    [("bytes=0-9", (0, 9)), ("bytes=100-", (100, None)), ("bytes=-25", (-25, None)), ("bytes=5-999999999", (5, None))],
)
def test_a_range_is_answered_206_with_exactly_those_bytes(
    tenant: Tenant, document: dict[str, Any], header: str, span: tuple[int, int | None]
) -> None:
    whole = download(tenant, document["manifest"]["files"][0]["url"])
    size = len(whole)
    start, end = span
    expected = whole[start:] if end is None else whole[start:end + 1]
    first = start if start >= 0 else size + start

    response = tenant.get(_path(document), Range=header)

    assert response.status_code == 206
    assert b"".join(response.streaming_content) == expected
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{size}"
    assert response["Content-Length"] == str(len(expected))


def test_a_range_past_the_end_is_416(tenant: Tenant, document: dict[str, Any]) -> None:
    size = document["manifest"]["files"][0]["bytes"]
    response = tenant.get(_path(document), Range=f"bytes={size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"
    assert response.json() == {"errors": [{
        "msg": f"The range is outside the file ({size} bytes).", "code": "range_not_satisfiable", "field": "Range",
    }]}


def test_several_ranges_get_the_whole_file(tenant: Tenant, document: dict[str, Any]) -> None:
    response = tenant.get(_path(document), Range="bytes=0-1,5-6")
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content)) == document["manifest"]["files"][0]["bytes"]


def test_files_of_an_unfinished_export_or_an_unknown_number_are_refused(tenant: Tenant, document: Any) -> None:
    queued = export_create(tenant, BODY)
    response = tenant.get(f"{EXPORTS}/{queued['id']}/files/1")
    assert response.status_code == 409
    assert response.json()["errors"] == [{
        "msg": "The export is queued: its files can be downloaded only while it is completed.",
        "code": "export_not_completed", "field": "id",
    }]
    for n in ("2", "0", "x", "99999999999"):
        response = tenant.get(_path(document, n))  # type: ignore[arg-type]
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "n"


@pytest.fixture
def s3(s3: Any, settings: Any) -> Any:
    """The shared S3 fixture (tests/conftest.py), under the prefix the keys below are asserted with."""
    settings.S3_PREFIX = "data/"
    return s3


def test_on_s3_a_file_is_a_redirect_to_a_fresh_presigned_url(
    tenant: Tenant, s3: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(2500)])
    document = exported(tenant, {**BODY, "format": "parquet", "compression": "gzip"})

    files = document["manifest"]["files"]
    assert len(files) == 3
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=s3.bucket)["Contents"])
    assert len(keys) == 3 and all(key.startswith(f"data/exports/{tenant.account.pk}/{document['id']}/") for key in keys)
    assert stored_files() == []
    for item in files:
        response = tenant.get(_path(document, item["n"]))
        assert response.status_code == 302
        with urllib.request.urlopen(response["Location"]) as answer:
            data = answer.read()
            assert answer.headers["Content-Type"] == "application/vnd.apache.parquet"
        assert (len(data), hashlib.sha256(data).hexdigest()) == (item["bytes"], item["sha256"])
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant.http.delete(f"{EXPORTS}/{document['id']}", headers={"auth": tenant.token()})
    assert response.status_code == 204
    assert s3.list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0
