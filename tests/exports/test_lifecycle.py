"""States of an export job: cancellation, deletion, expiry, a worker killed mid-file, webhooks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction

from exports import datasets, jobs
from exports.jobs import export_claim, export_run
from exports.models import ExportFile, ExportJob, ExportState
from exports.services import export_cancel_or_delete
from exports.storage import final_key, job_storage, temp_key
from exports.tasks import exports_cleanup, exports_sweep
from tests.conftest import Tenant
from tests.conversations.conftest import ingest
from tests.conversations.factories import BASE, SessionRecordFactory
from tests.exports.conftest import DAY, EXPORTS, export_create, exported, ndjson_lines, run_to_end, stored_files
from tests.webhook_receiver import Receiver, webhook_receiver
from webhooks.models import Delivery
from webhooks.services import delivery_attempt
from webhooks.signing import webhook_signature_valid

NOW = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
BODY = {"dataset": "interactions", **DAY}


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sessions(tenant: Tenant) -> int:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, start=BASE + timedelta(seconds=n))
                    for n in range(2500)])
    return 2500


def _job(export_id: str) -> ExportJob:
    return ExportJob.objects.get(public_id=export_id)


def _delete(tenant: Tenant, export_id: str) -> Any:
    return tenant.http.delete(f"{EXPORTS}/{export_id}", headers={"auth": tenant.token()})


def test_a_completed_export_expires_after_its_ttl_and_its_files_are_deleted(
    tenant: Tenant, sessions: int, clock: time_machine.Coordinates, django_capture_on_commit_callbacks: Any
) -> None:
    document = exported(tenant, BODY)
    assert document["expiresAt"] == document["manifest"]["expiresAt"] == "2025-10-08T08:00:00.000Z"
    assert len(stored_files()) == 3

    clock.shift(timedelta(hours=168) - timedelta(seconds=1))
    assert exports_cleanup() == 0
    clock.shift(timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_cleanup() == 1

    assert stored_files() == []
    assert not ExportFile.objects.exists()
    expired = tenant.get(f"{EXPORTS}/{document['id']}").json()
    assert (expired["state"], "manifest" in expired, expired["expiresAt"]) == ("expired", False, document["expiresAt"])
    response = tenant.get(document["manifest"]["files"][0]["url"].removeprefix("http://testserver"))
    assert response.status_code == 410
    assert response.json()["errors"][0]["code"] == "export_expired"


def test_deleting_a_finished_export_removes_it_and_its_files(
    tenant: Tenant, sessions: int, django_capture_on_commit_callbacks: Any
) -> None:
    document = exported(tenant, BODY)
    with django_capture_on_commit_callbacks(execute=True):
        assert _delete(tenant, document["id"]).status_code == 204
    assert stored_files() == []
    assert not ExportJob.objects.exists()
    assert tenant.get(f"{EXPORTS}/{document['id']}").status_code == 404


def test_cancelling_between_two_files_removes_the_published_one_and_stops_the_job(
    tenant: Tenant, sessions: int, django_capture_on_commit_callbacks: Any
) -> None:
    created = export_create(tenant, BODY)
    assert export_run(job_id=_job(created["id"]).pk) == ExportState.RUNNING  # file 1 published
    assert len(stored_files()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = _delete(tenant, created["id"])

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert stored_files() == []
    assert export_run(job_id=_job(created["id"]).pk) == ""  # the next task finds nothing to do
    assert stored_files() == []
    assert not ExportFile.objects.exists()


def test_deleting_in_a_transaction_that_rolls_back_keeps_the_files(tenant: Tenant, sessions: int) -> None:
    document = exported(tenant, BODY)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert export_cancel_or_delete(job=_job(document["id"])) is None
        raise RuntimeError("rolled back")
    assert len(stored_files()) == 3
    assert tenant.get(document["manifest"]["files"][0]["url"].removeprefix("http://testserver")).status_code == 200


def test_cancelling_a_running_file_stops_its_worker_at_the_next_heartbeat(
    tenant: Tenant, sessions: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = export_create(tenant, BODY)
    job = _job(created["id"])
    read: list[int] = []
    interactions = datasets.DATASETS["interactions"]
    monkeypatch.setattr(jobs, "BLOCK_ROWS", 100)
    monkeypatch.setattr(jobs, "HEARTBEAT_ROWS", 300)

    def cancelled_midway(window: Any, chunk: int) -> Iterator[Any]:
        for block in interactions.blocks(window, chunk):
            if sum(read) == 500:  # the user's DELETE arrives while the worker writes the first file
                export_cancel_or_delete(job=ExportJob.objects.get(pk=job.pk))
            read.append(block.count)
            yield block

    monkeypatch.setitem(datasets.DATASETS, "interactions", dataclasses.replace(interactions, blocks=cancelled_midway))

    assert export_run(job_id=job.pk) == ""

    assert read == [100] * 6  # stopped at the heartbeat after the cancellation (600 of the file's 1,000)
    job.refresh_from_db()
    assert job.state == ExportState.CANCELLED
    assert stored_files() == []
    assert not ExportFile.objects.exists()


def test_a_worker_killed_mid_file_leaves_no_half_file_and_the_job_completes_after_its_lease(
    tenant: Tenant, sessions: int, clock: time_machine.Coordinates, settings: Any
) -> None:
    created = export_create(tenant, BODY)
    job = _job(created["id"])
    assert export_run(job_id=job.pk) == ExportState.RUNNING  # file 1 published
    # The next task claims the job, stores half of file 2 under its temporary key and is killed.
    dead = export_claim(job_id=job.pk)
    storage = job_storage(job)
    storage.save(temp_key(job, 2, dead.token), _Bytes(b'{"half": '))
    storage.save(final_key(job, 2, dead.token), _Bytes(b'{"promoted but never published"}\n'))
    assert export_run(job_id=job.pk) == ""  # the lease is held: nobody takes over yet
    assert exports_sweep() == 0
    document = tenant.get(f"{EXPORTS}/{created['id']}").json()
    assert document["state"] == "running" and "manifest" not in document

    clock.shift(timedelta(seconds=settings.EXPORT_LEASE_SECONDS + 1))
    assert exports_sweep() == 1
    assert run_to_end(created["id"]) == ExportState.COMPLETED

    document = tenant.get(f"{EXPORTS}/{created['id']}").json()
    assert [(item["n"], item["rows"]) for item in document["manifest"]["files"]] == [(1, 1000), (2, 1000), (3, 500)]
    assert len(stored_files()) == 3  # what the dead attempt stored is gone
    assert len(set(ndjson_lines(tenant, document))) == 2500
    assert _job(created["id"]).attempts == 1


def test_a_job_whose_worker_keeps_dying_fails(
    tenant: Tenant, sessions: int, clock: time_machine.Coordinates, settings: Any
) -> None:
    created = export_create(tenant, BODY)
    job = _job(created["id"])
    for _attempt in range(settings.EXPORT_MAX_ATTEMPTS + 1):
        assert export_claim(job_id=job.pk)  # and killed
        clock.shift(timedelta(seconds=settings.EXPORT_LEASE_SECONDS + 1))

    assert export_run(job_id=job.pk) == ExportState.FAILED

    document = tenant.get(f"{EXPORTS}/{created['id']}").json()
    assert document["error"] == {
        "code": "worker_stopped",
        "msg": "The export's worker stopped 4 times before it finished; create the export again.",
    }


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.RECORDING_SOURCE_SHARED_HOSTS = ["127.0.0.1"]
    with webhook_receiver() as server:
        yield server


def test_a_completed_export_posts_a_signed_webhook_with_its_manifest(
    tenant: Tenant, sessions: int, receiver: Receiver, clock: time_machine.Coordinates
) -> None:
    document = exported(tenant, {**BODY, "webhookUrl": receiver.url + "/exports"})
    [delivery] = Delivery.objects.all()
    assert (delivery.event, delivery.url, delivery.api_client_id) == (
        "export.completed", receiver.url + "/exports", tenant.api_client.pk,
    )

    delivery_attempt(delivery_id=delivery.pk)

    [got] = receiver.received
    assert webhook_signature_valid(
        secret=tenant.api_client.webhook_secret, timestamp=got.headers["x-webhook-timestamp"], body=got.body,
        signature=got.headers["x-webhook-signature"], now=NOW.timestamp(),
    )
    sent = json.loads(got.body)
    assert sent["event"] == "export.completed"
    assert sent["data"]["id"] == document["id"]
    assert sent["data"]["state"] == "completed"
    assert [item["url"] for item in sent["data"]["manifest"]["files"]] == [
        f"/api/v1/exports/{document['id']}/files/{n}" for n in (1, 2, 3)
    ]
    assert [item["sha256"] for item in sent["data"]["manifest"]["files"]] == [
        item["sha256"] for item in document["manifest"]["files"]
    ]


def test_a_failed_export_posts_to_the_accounts_webhook_url(
    tenant: Tenant, sessions: int, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.account.webhook_url = receiver.url + "/account"
    tenant.account.save()

    def broken(window: Any, chunk: int) -> Iterator[Any]:
        raise RuntimeError("disk on fire")
        yield

    monkeypatch.setitem(datasets.DATASETS, "interactions",
                        dataclasses.replace(datasets.DATASETS["interactions"], blocks=broken))
    created = export_create(tenant, BODY)

    assert run_to_end(created["id"]) == ExportState.FAILED

    document = tenant.get(f"{EXPORTS}/{created['id']}").json()
    assert document["error"] == {
        "code": "internal_error",
        "msg": "The export failed on an error of this service; create it again, or contact the operator.",
    }
    [delivery] = Delivery.objects.all()
    assert (delivery.event, delivery.url) == ("export.failed", receiver.url + "/account")
    assert json.loads(bytes(delivery.body))["data"]["error"]["code"] == "internal_error"


def test_no_webhook_is_queued_without_any_url(tenant: Tenant, sessions: int) -> None:
    exported(tenant, BODY)
    assert not Delivery.objects.exists()


def test_the_webhook_is_queued_in_the_transaction_that_completes_the_job(tenant: Tenant, sessions: int) -> None:
    tenant.account.webhook_url = "https://bi.example/hook"
    tenant.account.save()
    created = export_create(tenant, {**BODY, "startDate": "2030-01-01", "endDate": "2030-01-01"})
    with pytest.raises(RuntimeError), transaction.atomic():
        assert export_run(job_id=_job(created["id"]).pk) == ExportState.COMPLETED
        assert Delivery.objects.count() == 1
        raise RuntimeError("rolled back")
    assert not Delivery.objects.exists()


def test_an_empty_window_completes_with_one_empty_file(tenant: Tenant) -> None:
    document = exported(tenant, {**BODY, "format": "csv"})
    [item] = document["manifest"]["files"]
    assert (item["rows"], document["manifest"]["rows"]) == (0, 0)
    assert ndjson_lines(tenant, document)[0].startswith(b"sessionId,conversationId,channel")


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1, /) -> bytes:
        chunk, self.data = self.data[: size if size >= 0 else None], self.data[size if size >= 0 else len(self.data):]
        return chunk
