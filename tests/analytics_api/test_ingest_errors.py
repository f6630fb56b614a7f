"""How a batch meets database errors: lock order, retried conflicts, refused values; and their answers.

Found by an adversarial review: concurrent batches deadlocked on PostgreSQL and the client read 503
"backing service unavailable"; a value the database refused was a 500 (or that same 503).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import DataError, OperationalError

from analytics_api.kernel import ingestion
from analytics_api.kernel.ingestion import IngestResult, batch_upsert, batch_validate
from tests.analytics_api import probe_urls
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.analytics_api.probe_urls"


def _deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def _out_of_range() -> DataError:
    error = DataError('value "99999999999999999999" is out of range for type bigint')
    error.__cause__ = psycopg.errors.NumericValueOutOfRange('value "99999999999999999999" is out of range')
    return error


class FakeStore:
    """Records ``{"key": …}``; ``upsert`` raises the errors queued in ``fail``, else keeps what it got."""

    def __init__(self, fail: list[BaseException] | None = None, refuse: str | None = None) -> None:
        self.fail = list(fail or [])
        self.refuse = refuse
        self.calls: list[list[str]] = []
        self.stored: list[str] = []

    def ingest(self, records: list[Any]) -> IngestResult:
        """The steps of an ingestion service, with this fake's upsert."""
        batch = batch_validate(records, check=lambda raw: raw, key=lambda record: record["key"])
        return batch_upsert(batch, upsert=self.upsert)

    def upsert(self, records: list[dict[str, Any]]) -> tuple[int, int]:
        keys = [record["key"] for record in records]
        self.calls.append(keys)
        if self.fail:
            raise self.fail.pop(0)
        if self.refuse in keys:
            raise _out_of_range()
        self.stored.extend(keys)
        return len(keys), 0


def test_a_batch_is_written_in_the_order_of_its_keys() -> None:
    fake = FakeStore()

    fake.ingest([{"key": key} for key in ["s-3", "s-1", "s-2", "s-1"]])

    assert fake.calls == [["s-1", "s-2", "s-3"]]


def test_a_deadlocked_batch_is_run_again_and_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingestion.time, "sleep", lambda seconds: None)
    fake = FakeStore(fail=[_deadlock(), _deadlock()])

    result = fake.ingest([{"key": "b"}, {"key": "a"}])

    assert (result.created, result.updated, result.rejected) == (2, 0, [])
    assert fake.calls == [["a", "b"]] * 3


def test_a_batch_that_keeps_deadlocking_gives_up_after_two_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingestion.time, "sleep", lambda seconds: None)
    fake = FakeStore(fail=[_deadlock()] * 3)

    with pytest.raises(OperationalError):
        fake.ingest([{"key": "a"}])

    assert len(fake.calls) == 3 and fake.stored == []


def test_an_outage_is_not_retried() -> None:
    fake = FakeStore(fail=[OperationalError("could not connect to server")])

    with pytest.raises(OperationalError):
        fake.ingest([{"key": "a"}])

    assert len(fake.calls) == 1


def test_a_value_the_database_refuses_rejects_its_record_only() -> None:
    fake = FakeStore(refuse="k3")
    records = [{"key": f"k{number}"} for number in range(6)]

    result = fake.ingest(records)

    assert (result.created, result.updated) == (5, 0)
    assert result.rejected == [{"index": 3, "errors": [{
        "msg": 'A value of the request cannot be stored: value "99999999999999999999" is out of range for type '
        "bigint.",
        "code": "unstorable_value",
    }]}]
    assert sorted(fake.stored) == ["k0", "k1", "k2", "k4", "k5"]


@pytest.mark.parametrize(
    ("error", "status", "body", "retry_after"),
    [
        (
            _deadlock, 503,
            {"msg": "Another request was writing the same records at the same moment; nothing of this request "
                    "was stored. Send it again (after 1 second).", "code": "conflict_retry"},
            "1",
        ),
        (
            _out_of_range, 400,
            {"msg": 'A value of the request cannot be stored: value "99999999999999999999" is out of range for '
                    "type bigint.", "code": "unstorable_value"},
            None,
        ),
        (
            lambda: OperationalError("could not connect to server: Connection refused"), 503,
            {"msg": "A backing service (database or cache) is unavailable; retry shortly.",
             "code": "dependency_unavailable"},
            "5",
        ),
    ],
)
def test_database_errors_are_answered_for_what_they_are(
    tenant: Tenant, probe: None, monkeypatch: pytest.MonkeyPatch, error: Any, status: int, body: dict[str, str],
    retry_after: str | None,
) -> None:
    def failing(self: Any, request: Any, account_id: str) -> Any:
        raise error()

    monkeypatch.setattr(probe_urls.AccountProbeView, "post", failing)

    response = tenant.post(f"/probe/{tenant.account_id}", {})

    assert response.status_code == status
    assert response.json() == {"errors": [body]}
    assert response.get("Retry-After") == retry_after
