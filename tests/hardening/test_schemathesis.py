"""Every operation of the committed OpenAPI schema, fuzzed by schemathesis against the app in-process.

The app is called through its WSGI handler with a JWT of a seeded account (demo interactions,
Quality AI contacts, recordings in several states, retention settings and their audit log). Every
answer must be documented by the schema — status code, content type, headers, body — and none may
be a 5xx. Generation is derandomized, so a failure reproduces on every run and database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conversations.demo import interactions_seed
from conversations.services import interactions_ingest
from exports.jobs import export_run
from exports.models import ExportJob
from exports.services import export_create
from qualityai.demo import contacts_seed
from qualityai.services import contacts_ingest
from recordings.jobs import recordings_process_due
from recordings.models import Recording, RecordingState
from recordings.retention import retention_run, retention_settings_update
from tests.audio import audio
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory, utc
from tests.factories import AccountFactory, ApiClientFactory, BotFactory
from tests.qualityai.factories import ContactDocumentFactory
from tests.servers import serving

pytestmark = pytest.mark.django_db

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml"
schema = schemathesis.openapi.from_path(SCHEMA_PATH)

# Every operation of the committed schema; a new one must be added here (and gets fuzzed).
OPERATIONS = {
    "GET /api/health",
    "GET /api/health/ready",
    "POST /agentassist/api/public/analytics/account/{accountId}/v2/interactionDetails",
    "POST /agentassist/api/public/analytics/account/{accountId}/v2/calldetails",
    "POST /api/v1/ingest/interactions",
    "POST /api/v1/ingest/conversations",
    "POST /qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata",
    "POST /api/v1/ingest/qualityai/{streamId}/contacts",
    "GET /api/v1/recordings/{conversationId}",
    "GET /api/v1/recordings/{conversationId}/download",
    "POST /api/v1/recordings/{conversationId}/retry",
    "GET /api/v1/settings/retention",
    "PUT /api/v1/settings/retention",
    "GET /api/v1/settings/audit-log",
    "GET /api/v1/changes",
    "POST /api/v1/counts",
    "POST /api/v1/exports",
    "GET /api/v1/exports",
    "GET /api/v1/exports/{exportId}",
    "DELETE /api/v1/exports/{exportId}",
    "GET /api/v1/exports/{exportId}/files/{n}",
    "DELETE /api/v1/conversations/search-history",
    "DELETE /api/v1/conversations/{sessionId}",
    "DELETE /api/v1/conversations/{sessionId}/flags/{flagId}",
    "DELETE /api/v1/filters/{filterId}",
    "GET /api/v1/conversations/search-history",
    "GET /api/v1/conversations/{sessionId}",
    "GET /api/v1/conversations/{sessionId}/diagnostics",
    "GET /api/v1/conversations/{sessionId}/dispositions/log",
    "GET /api/v1/conversations/{sessionId}/events",
    "GET /api/v1/conversations/{sessionId}/latency",
    "GET /api/v1/conversations/{sessionId}/transcript",
    "GET /api/v1/filters",
    "GET /api/v1/filters/{filterId}",
    "GET /api/v1/settings/privacy",
    "POST /api/v1/conversations/export",
    "POST /api/v1/conversations/export-transcripts",
    "POST /api/v1/conversations/query",
    "POST /api/v1/conversations/{sessionId}/flags",
    "POST /api/v1/filters",
    "POST /api/v1/filters/{filterId}/default",
    "POST /api/v1/filters/{filterId}/duplicate",
    "POST /api/v1/privacy/erasures",
    "PUT /api/v1/conversations/{sessionId}/dispositions",
    "PUT /api/v1/filters/{filterId}",
    "PUT /api/v1/settings/privacy",
}
MAX_EXAMPLES = 370
MIN_TOTAL_CASES = 5000
CASES: Counter[str] = Counter()

# Fixed ids and a fixed seeding instant: the values fed to the generator are the same on every run.
SEEDED_AT = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
CALL_END = datetime(2025, 9, 30, 9, 0, tzinfo=UTC)
OWN = {
    "accountId": "5eed0000000000000000a11c",
    "orgId": "o-5eed0000-0000-4000-8000-00000000a11c",
    "streamId": "st-5eed0000-0000-4000-8000-00000000a11c",
}
OTHER = {
    "accountId": "5eed0000000000000000b0b0",
    "orgId": "o-5eed0000-0000-4000-8000-00000000b0b0",
    "streamId": "st-5eed0000-0000-4000-8000-00000000b0b0",
}
# One recorded call per state a caller can meet, registered by ingestion and fetched by the worker.
AVAILABLE, FAILED, REFUSED, IN_PROGRESS, EXPIRED = (
    f"c-5eed0000-0000-4000-8000-00000000000{n}" for n in range(1, 6)
)
# "{server}" is the module's own recording server; 10.0.0.1 is private, so refused as a source.
RECORDING_SOURCES = {
    AVAILABLE: "{server}/available.flac",
    FAILED: "{server}/broken",
    REFUSED: "http://10.0.0.1/refused.flac",
    IN_PROGRESS: "{server}/later.flac",
    EXPIRED: "{server}/expired.flac",
}
OTHER_RECORDING = "c-5eed0000-0000-4000-8000-0000000b0b01"
# A completed and a queued export of the seeded account, a completed one of the other account.
OWN_EXPORT, OWN_QUEUED_EXPORT, OTHER_EXPORT = (f"5eed0000-0000-4000-8000-00000000e0{n}0" for n in range(1, 4))
AUDIO = audio(seconds=1.0)


@dataclass
class Seeded:
    tenant: Tenant
    app: WSGIHandler
    auth: dict[str, str]
    media: Path


def _tenant(ids: dict[str, str]) -> Tenant:
    account = AccountFactory(account_id=ids["accountId"], org_id=ids["orgId"])
    bot = BotFactory(account=account, bot_id=ids["streamId"])
    return Tenant(account=account, bot=bot, api_client=ApiClientFactory(account=account), http=APIClient())


class _AudioHandler(BaseHTTPRequestHandler):
    """The recording server: ``*.flac`` is audio, anything else a server error."""

    def do_GET(self) -> None:
        ok = self.path.endswith(".flac")
        body = AUDIO if ok else b""
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _recorded_calls(tenant: Tenant, base_url: str) -> None:
    """Voice calls with recordings and their Quality AI contacts, through the ingestion paths."""
    records = []
    for index, (conversation_id, source) in enumerate(RECORDING_SOURCES.items()):
        started = (CALL_END - timedelta(days=90) if conversation_id == EXPIRED else CALL_END) - timedelta(minutes=9)
        record = ConversationRecordFactory(
            conversationId=conversation_id,
            sessionId=f"5eed{index:020x}",
            botId=tenant.bot.bot_id,
            start=started,
            recordingSources=[{"url": source.replace("{server}", base_url), "channel": "mixed"}],
        )
        record["sessionEndTime"] = utc(started + timedelta(minutes=9))
        if conversation_id == IN_PROGRESS:
            del record["sessionEndTime"]
        records.append(record)
    assert interactions_ingest(account=tenant.account, records=records).rejected == []
    contacts = [
        ContactDocumentFactory(conversation_id=conversation_id, started=CALL_END - timedelta(minutes=9))
        for conversation_id in RECORDING_SOURCES
    ]
    assert contacts_ingest(stream=tenant.bot, records=contacts).rejected == []


def _exports(tenant: Tenant, outsider: Tenant) -> None:
    body = {"dataset": "interactions", "startDate": "2025-09-29", "endDate": "2025-10-01", "format": "csv"}
    for who, public_id, run in ((tenant, OWN_EXPORT, True), (tenant, OWN_QUEUED_EXPORT, False),
                                (outsider, OTHER_EXPORT, True)):
        job = export_create(account=who.account, client=who.api_client, body=body, idempotency_key=None)
        ExportJob.objects.filter(pk=job.pk).update(public_id=public_id)
        if run:
            assert export_run(job_id=job.pk) == "completed"


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Seeded]:
    """Both accounts' data, seeded once for the module inside a transaction rolled back at its end.

    Each generated case runs in a savepoint of its own that is rolled back too (see the test), so
    every case meets exactly these rows whatever the cases before it wrote: hypothesis can replay
    and shrink a failure, and the result does not depend on test order.
    """
    media = tmp_path_factory.mktemp("media")
    # Django's test client does the same: called through a bare WSGI handler, close_old_connections
    # would close the connection that holds this module's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with (
            django_db_blocker.unblock(),
            # Rate limits must not turn thousands of quick requests into 429s that hide real answers.
            override_settings(
                MEDIA_ROOT=media,
                RATE_LIMIT_PER_MINUTE=10**9,
                RATE_LIMIT_PER_HOUR=10**9,
                AUTH_FAILURES_PER_MINUTE=10**9,
                RECORDING_SOURCE_SHARED_HOSTS=["127.0.0.1"],
            ),
            transaction.atomic(),
        ):
            with time_machine.travel(SEEDED_AT, tick=False), serving(_AudioHandler) as base_url:
                tenant, outsider = _tenant(OWN), _tenant(OTHER)
                conversations = interactions_seed(account=tenant.account, days=3, per_day=20, seed=7)
                contacts_seed(account=tenant.account, conversations=conversations, seed=7)
                outsider_conversations = interactions_seed(account=outsider.account, days=2, per_day=5, seed=8)
                contacts_seed(account=outsider.account, conversations=outsider_conversations, seed=8)
                _recorded_calls(tenant, base_url)
                interactions_ingest(
                    account=outsider.account,
                    records=[ConversationRecordFactory(
                        conversationId=OTHER_RECORDING, botId=outsider.bot.bot_id, start=CALL_END,
                        recordingSources=[{"url": f"{base_url}/other.flac", "channel": "mixed"}],
                    )],
                )
                recordings_process_due()
                _exports(tenant, outsider)
                retention_settings_update(
                    account=tenant.account, actor="system", retention_days=60, notify_customers=False,
                    notification_email="",
                )
                retention_run()
                retention_settings_update(
                    account=tenant.account, actor="system", retention_days=90, notify_customers=True,
                    notification_email="privacy@example.com",
                )
            states = dict(Recording.objects.filter(account=tenant.account).values_list("conversation_id", "state"))
            assert states == {
                AVAILABLE: RecordingState.AVAILABLE,
                FAILED: RecordingState.INITIAL_FETCH_FAILED,
                REFUSED: RecordingState.MEDIA_UNAVAILABLE,
                IN_PROGRESS: RecordingState.CALL_IN_PROGRESS,
                EXPIRED: RecordingState.DELETED,
            }
            yield Seeded(tenant=tenant, app=WSGIHandler(), auth={"auth": tenant.token()}, media=media)
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _seeded_media(settings: Any, seeded: Seeded) -> None:
    # conftest gives every test an empty MEDIA_ROOT; the seeded recordings are in the module's one.
    settings.MEDIA_ROOT = seeded.media


def _fuzzed_or_known(fuzzed: Any, own: list[Any], other: list[Any]) -> st.SearchStrategy[Any]:
    # Half the draws name the seeded account's rows, a quarter the other account's (to be refused),
    # a quarter keep the fuzzed value: enough cases reach real rows rather than all being 404s.
    return st.one_of(st.just(fuzzed), st.sampled_from(own), st.sampled_from(own), st.sampled_from(other))


KNOWN = {
    "accountId": ([OWN["accountId"]], [OTHER["accountId"]]),
    "orgId": ([OWN["orgId"]], [OTHER["orgId"]]),
    "streamId": ([OWN["streamId"]], [OTHER["streamId"]]),
    "IId": ([OWN["streamId"]], [OTHER["streamId"]]),
    "conversationId": (list(RECORDING_SOURCES), [OTHER_RECORDING]),
    "exportId": ([OWN_EXPORT, OWN_QUEUED_EXPORT], [OTHER_EXPORT]),
    "n": (["1"], ["2"]),  # text: a fuzzed header may be named n too
}
# Windows holding the seeded rows: swapped into a third of the read operations' bodies, and the
# whole body of another third (every section selected, below-threshold contacts included).
DETAILS = "POST /agentassist/api/public/analytics/account/{accountId}/v2/"
ALL_SECTIONS = {"selectedFields": {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []}}
SEEDED_WINDOWS = {
    DETAILS + "interactionDetails": {"startDate": "2025-09-29", "endDate": "2025-10-01", "timeZoneOffset": -330},
    DETAILS + "calldetails": {
        "startDate": "2025-09-29 00:00:00", "endDate": "2025-10-01T23:59:59", "timeZoneOffset": 0
    },
    "POST /qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata": {
        "startDate": "2025-09-29 00:00:00", "endDate": "2025-10-01 23:59:59", "offset": 0
    },
    "POST /api/v1/exports": {"dataset": "interactions", "startDate": "2025-09-29", "endDate": "2025-10-01"},
}
WHOLE_BODIES = {
    DETAILS + "interactionDetails": {**SEEDED_WINDOWS[DETAILS + "interactionDetails"], **ALL_SECTIONS},
    DETAILS + "calldetails": {**SEEDED_WINDOWS[DETAILS + "calldetails"], **ALL_SECTIONS},
    "POST /qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata": {
        **SEEDED_WINDOWS["POST /qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata"],
        "include_below_threshold": True,
    },
    "POST /api/v1/exports": {
        "dataset": "qa_contacts", "startDate": "2025-09-29", "endDate": "2025-10-01", "format": "parquet",
        "filters": {"include_below_threshold": True, "streamId": OWN["streamId"]},
    },
}


def _known_values(values: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    if not values:
        return st.just(values)
    return st.fixed_dictionaries(
        {name: _fuzzed_or_known(value, *KNOWN[name]) if name in KNOWN else st.just(value)
         for name, value in values.items()
         # The Host header is the transport's: a made-up one is refused by ALLOWED_HOSTS (400) before
         # any endpoint runs, which says nothing about the endpoint.
         if name.lower() != "host"}
    )


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    return _known_values(path_parameters)


@schema.hook
def flatmap_headers(context: Any, headers: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    return _known_values(headers)


@schema.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    label = context.operation.label
    if label not in SEEDED_WINDOWS or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, {**body, **SEEDED_WINDOWS[label]}, WHOLE_BODIES[label]])


@schema.hook
def map_case(context: Any, case: Any) -> Any:
    # Coverage-phase cases vary one parameter at a time over fixed values for the others: those name
    # the seeded account, so that the body and query variants get past the 403/404 checks too.
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE:
        return case
    varied = meta.phase.data.parameter_location
    for location, values in ((ParameterLocation.PATH, case.path_parameters), (ParameterLocation.HEADER, case.headers)):
        if varied != location:
            for name in set(values or ()) & set(KNOWN):
                values[name] = KNOWN[name][0][0]
    return case


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Large request bodies (batches of contacts) are slow to generate, and that is expected.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
def test_every_answer_is_documented_and_none_is_a_server_error(case: Any, seeded: Seeded) -> None:
    CASES[case.operation.label] += 1
    # Whatever a case writes (an ingestion, a retry, a retention change) is undone before the next.
    with transaction.atomic():
        response = case.call(app=seeded.app, headers=seeded.auth)
        transaction.set_rollback(True)
    case.validate_response(response, checks=CHECKS)


def test_the_committed_schema_has_exactly_the_operations_fuzzed_here() -> None:
    assert {result.ok().label for result in schema.get_all_operations()} == OPERATIONS


def test_the_fuzzing_covered_every_operation_with_enough_cases() -> None:
    if set(CASES) != OPERATIONS:
        pytest.skip("only some operations were selected in this run")
    print("schemathesis cases per operation:", dict(CASES), "total:", sum(CASES.values()))
    assert sum(CASES.values()) >= MIN_TOTAL_CASES
