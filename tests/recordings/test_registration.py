from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics_api.kernel.errors import ApiError
from recordings.models import Recording, RecordingFile, RecordingState
from recordings.selectors import recording_links
from recordings.services import (
    SourceRegistration,
    recording_sources_register,
    recording_sources_register_batch,
    recording_state_of,
)
from tests.recordings.conftest import CALL_END, register

pytestmark = pytest.mark.django_db

MIXED = ("https://rec.example.com/c1.flac", "mixed")
AGENT = ("https://rec.example.com/c1-agent.flac", "agent")


def test_call_without_end_is_call_in_progress_and_not_due(tenant: Any) -> None:
    recording = register(tenant.account, "c1", MIXED, ended=None)

    assert recording.state == RecordingState.CALL_IN_PROGRESS
    assert recording.message == (
        "Media unavailable while the call is in progress. Please recheck once the call has ended."
    )
    assert RecordingFile.objects.get().due_at is None


def test_end_time_arriving_schedules_the_first_attempt_ten_minutes_later(tenant: Any) -> None:
    register(tenant.account, "c1", MIXED, ended=None)
    recording = register(tenant.account, "c1", MIXED, ended=CALL_END)

    item = RecordingFile.objects.get()
    assert recording.state == RecordingState.MEDIA_IN_PROGRESS
    assert recording.message == "Media generation is in progress. Please wait for a few minutes."
    assert item.due_at == CALL_END + timedelta(minutes=10)
    assert item.attempt_kind == "initial"


def test_reingesting_the_same_record_creates_nothing_new(tenant: Any) -> None:
    register(tenant.account, "c1", MIXED, AGENT)
    register(tenant.account, "c1", MIXED, AGENT)
    register(tenant.account, "c1", AGENT, MIXED, ended=None)  # an older copy without the end keeps it

    assert Recording.objects.count() == 1
    assert RecordingFile.objects.count() == 2
    assert set(RecordingFile.objects.values_list("due_at", flat=True)) == {CALL_END + timedelta(minutes=10)}


def test_changed_end_time_moves_a_job_that_has_not_run(tenant: Any) -> None:
    register(tenant.account, "c1", MIXED)
    later = CALL_END + timedelta(hours=1)
    register(tenant.account, "c1", MIXED, ended=later)

    assert RecordingFile.objects.get().due_at == later + timedelta(minutes=10)


def test_reingesting_never_touches_an_available_file(tenant: Any) -> None:
    register(tenant.account, "c1", MIXED)
    RecordingFile.objects.update(state=RecordingState.AVAILABLE, due_at=None, attempts=1, storage_key="k")
    register(tenant.account, "c1", MIXED, ended=CALL_END + timedelta(hours=2))

    item = RecordingFile.objects.get()
    assert (item.state, item.due_at, item.storage_key) == (RecordingState.AVAILABLE, None, "k")


def test_deleted_recording_is_not_brought_back(tenant: Any) -> None:
    recording = register(tenant.account, "c1", MIXED)
    Recording.objects.filter(pk=recording.pk).update(deleted_at=timezone.now(), state=RecordingState.DELETED)
    register(tenant.account, "c1", MIXED, AGENT)

    assert RecordingFile.objects.count() == 1
    assert Recording.objects.get().state == RecordingState.DELETED


@pytest.mark.parametrize(
    ("source", "field", "msg"),
    [
        ({"url": "", "channel": "mixed"}, "recordingSources[0].url", "This field may not be blank."),
        ({"url": "https://x/" + "a" * 2000, "channel": "mixed"}, "recordingSources[0].url",
         "Ensure this field has no more than 2000 characters."),
        ({"url": "file:///etc/passwd", "channel": "mixed"}, "recordingSources[0].url",
         "A recording source must be an http, https or s3 address."),
        ({"url": "https://x/a.flac", "channel": "both"}, "recordingSources[0].channel",
         "channel must be mixed, agent or customer, not 'both'."),
        ({"url": "https://x/a.flac"}, "recordingSources[0].channel", "This field is required."),
        ("https://x/a.flac", "recordingSources[0]", "Invalid data. Expected a dictionary, but got str."),
        ({"url": "https://x/a.flac\r\nforged line", "channel": "mixed"}, "recordingSources[0].url",
         "A recording source url may not contain control characters (such as CR, LF or tab); percent-encode them."),
    ],
)
def test_malformed_source_is_rejected_and_nothing_written(tenant: Any, source: dict, field: str, msg: str) -> None:
    with pytest.raises(ApiError) as raised:
        recording_sources_register(account=tenant.account, conversation_id="c1", call_ended_at=CALL_END,
                                   sources=[source])

    assert raised.value.errors == [{"msg": msg, "code": raised.value.errors[0]["code"], "field": field}]
    assert not Recording.objects.exists()


def test_registration_applies_the_ingestion_cap_on_sources(tenant: Any) -> None:
    sources = [{"url": f"https://x/{index}.flac", "channel": "mixed"} for index in range(11)]
    with pytest.raises(ApiError) as raised:
        recording_sources_register(account=tenant.account, conversation_id="c1", call_ended_at=CALL_END,
                                   sources=sources)

    assert raised.value.errors == [
        {"msg": "A record may list at most 10 recordingSources.", "code": "too_many", "field": "recordingSources"}
    ]
    assert not Recording.objects.exists()


def _batch(size: int, offset: int = 0) -> list[SourceRegistration]:
    return [
        SourceRegistration(
            conversation_id=f"c{offset + index}",
            call_ended_at=CALL_END,
            sources=[{"url": f"https://rec.example.com/{offset + index}-agent.wav", "channel": "agent"},
                     {"url": f"https://rec.example.com/{offset + index}-customer.wav", "channel": "customer"}],
        )
        for index in range(size)
    ]


def _insert_batches(model: type, rows: int) -> int:
    """Statements Django needs to insert ``rows`` rows: one on PostgreSQL; on SQLite, batches within
    its 999-variable limit (nothing here can lift that limit)."""
    return math.ceil(rows / connection.ops.bulk_batch_size(model._meta.concrete_fields, [None] * rows))


def test_a_batch_registers_in_the_same_number_of_queries_for_1_and_50_records(
    tenant: Any, django_assert_num_queries: Any
) -> None:
    with CaptureQueriesContext(connection) as one:
        recording_sources_register_batch(account=tenant.account, registrations=_batch(1))
    extra = _insert_batches(RecordingFile, 100) - 1
    with django_assert_num_queries(len(one) + extra):
        recording_sources_register_batch(account=tenant.account, registrations=_batch(50, offset=1))
    # Again, now that they all exist: nothing to insert or change, and still no query per record.
    with django_assert_num_queries(len(one) - 3):
        recording_sources_register_batch(account=tenant.account, registrations=_batch(50, offset=1))

    assert Recording.objects.filter(state=RecordingState.MEDIA_IN_PROGRESS).count() == 51
    assert RecordingFile.objects.filter(due_at=CALL_END + timedelta(minutes=10)).count() == 102
    if connection.vendor == "postgresql":
        assert extra == 0


def test_a_batch_keeps_fetched_and_deleted_recordings_as_they_are(tenant: Any) -> None:
    recording_sources_register_batch(account=tenant.account, registrations=_batch(3))
    RecordingFile.objects.filter(recording__conversation_id="c0").update(
        state=RecordingState.AVAILABLE, due_at=None, attempts=1, storage_key="k"
    )
    Recording.objects.filter(conversation_id="c1").update(deleted_at=timezone.now(), state=RecordingState.DELETED)
    RecordingFile.objects.filter(recording__conversation_id="c1").delete()
    later = CALL_END + timedelta(hours=1)
    again = [SourceRegistration(conversation_id=item.conversation_id, call_ended_at=later, sources=item.sources)
             for item in _batch(3)]
    recording_sources_register_batch(account=tenant.account, registrations=again)

    assert set(RecordingFile.objects.filter(recording__conversation_id="c0").values_list("state", "storage_key")) == {
        (RecordingState.AVAILABLE, "k")
    }
    assert not RecordingFile.objects.filter(recording__conversation_id="c1").exists()
    assert Recording.objects.get(conversation_id="c1").state == RecordingState.DELETED
    assert set(RecordingFile.objects.filter(recording__conversation_id="c2").values_list("due_at", flat=True)) == {
        later + timedelta(minutes=10)
    }


def test_records_of_one_conversation_in_a_batch_share_its_recording(tenant: Any) -> None:
    first = SourceRegistration(conversation_id="c1", call_ended_at=CALL_END,
                               sources=[{"url": MIXED[0], "channel": "mixed"}])
    second = SourceRegistration(conversation_id="c1", call_ended_at=None,
                                sources=[{"url": AGENT[0], "channel": "agent"}, {"url": MIXED[0], "channel": "mixed"}])
    recording_sources_register_batch(account=tenant.account, registrations=[first, second])

    recording = Recording.objects.get()
    assert recording.call_ended_at == CALL_END
    assert sorted(recording.files.values_list("channel", flat=True)) == ["agent", "mixed"]


def test_no_sources_registers_nothing(tenant: Any) -> None:
    recording_sources_register(account=tenant.account, conversation_id="c1", call_ended_at=CALL_END, sources=[])
    assert not Recording.objects.exists()


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["available", "available"], "available"),
        (["available", "media_unavailable"], "available"),
        (["available", "initial_fetch_failed"], "partial_failed"),
        (["available", "24hr_retry_failed"], "partial_failed"),
        (["media_unavailable", "initial_fetch_failed"], "initial_fetch_failed"),
        (["fetching_in_progress", "retry_failed"], "fetching_in_progress"),
        (["24hr_retry_failed", "24hr_retry_failed"], "24hr_retry_failed"),
        (["media_unavailable"], "media_unavailable"),
    ],
)
def test_recording_state_is_derived_from_its_files(states: list[str], expected: str) -> None:
    assert recording_state_of(states) == expected


def test_links_list_mixed_files_for_both_parties_in_one_query(
    tenant: Any, outsider: Any, django_assert_num_queries: Any
) -> None:
    register(tenant.account, "c1", MIXED, AGENT, ("https://rec.example.com/c1-b.flac", "agent"))
    register(tenant.account, "c2", ("https://rec.example.com/c2.flac", "customer"))
    register(tenant.account, "c3", ("https://rec.example.com/c3.flac", "customer"))  # not fetched yet
    register(outsider.account, "c4", ("https://rec.example.com/c4.flac", "mixed"))
    RecordingFile.objects.exclude(recording__conversation_id="c3").update(state=RecordingState.AVAILABLE)

    with django_assert_num_queries(1):
        links = recording_links(account=tenant.account, conversation_ids=["c1", "c2", "c3", "c4", "missing"])

    assert links == {
        "c1": {
            "agent": [
                "/api/v1/recordings/c1/download?channel=agent",
                "/api/v1/recordings/c1/download?channel=agent&part=2",
                "/api/v1/recordings/c1/download?channel=mixed",
            ],
            "customer": ["/api/v1/recordings/c1/download?channel=mixed"],
        },
        "c2": {"agent": [], "customer": ["/api/v1/recordings/c2/download?channel=customer"]},
    }


def test_links_of_no_conversations_need_no_query(tenant: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert recording_links(account=tenant.account, conversation_ids=[]) == {}
