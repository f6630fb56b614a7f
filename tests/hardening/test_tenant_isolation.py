"""Tenant isolation as a property: whatever a caller names, it never sees or changes another account.

For generated pairs of accounts (sometimes in the same org, sometimes with a bot id in common) and
generated data (interactions, Quality AI contacts, recordings, retention settings, whose ids are
drawn from a small shared pool so that the two accounts often use the same session and
conversation ids), the first account's client sends generated requests to every tenant-scoped
endpoint, naming the other account's ids in the path, the headers and the body. Afterwards:

- no answer carries the other account's data, nor any of its ids the caller did not send itself;
- every row of the other account is exactly as it was.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics_api.models import Account, ApiClient, Bot
from conversations.models import Interaction, InteractionQueue
from conversations.services import interactions_ingest
from qualityai.models import QaContact, QaContactCustomField
from qualityai.services import contacts_ingest
from recordings.models import AuditEntry, Recording, RecordingFile, RecordingState, RetentionSettings
from recordings.retention import retention_settings_update
from recordings.storage import recording_storage
from tests.conftest import Tenant, make_tenant
from tests.conversations.factories import ConversationRecordFactory, SessionRecordFactory
from tests.factories import BotFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db

# The other account's data carries this marker in every record, contact, file and setting it has.
SECRET = "B-PRIVATE"
OWN_MARK = "A-OWN"
POOL = 4
WINDOW = {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0}
QA_WINDOW = {"offset": 0, "startDate": "2026-05-02 00:00:00", "endDate": "2026-05-02 23:59:59", "limit": 100,
             "include_below_threshold": True}


def session_id(index: int) -> str:
    return f"5e55{index:020x}"


def conversation_id(index: int) -> str:
    return f"c-shared-{index}"


@dataclass(frozen=True)
class Data:
    """One account's rows, by index into the shared id pools."""

    sessions: tuple[tuple[int, int | None, bool], ...]  # (session, conversation or None, voice)
    contacts: tuple[int, ...]  # conversation ids of Quality AI contacts
    retention_days: int | None
    notify: bool


def account_data() -> st.SearchStrategy[Data]:
    session = st.tuples(st.integers(0, POOL - 1), st.none() | st.integers(0, POOL - 1), st.booleans())
    return st.builds(
        Data,
        sessions=st.lists(session, max_size=3, unique_by=lambda s: s[0]).map(tuple),
        contacts=st.lists(st.integers(0, POOL - 1), max_size=3, unique=True).map(tuple),
        retention_days=st.none() | st.integers(1, 3650),
        notify=st.booleans(),
    )


# Whose id goes in a slot: the caller's own more often than not, so that requests also get past
# the checks and return data (which must then be the caller's only).
WHO = st.sampled_from(["own", "own", "other"])
MAYBE_WHO = st.sampled_from([None, "own", "other"])

# Each request is a tuple naming its endpoint and, symbolically, whose ids it puts where.
REQUESTS = st.one_of(
    st.tuples(st.just("details"), st.booleans(), WHO, MAYBE_WHO, MAYBE_WHO, MAYBE_WHO),
    st.tuples(st.just("rawdata"), WHO, WHO, WHO),
    st.tuples(
        st.just("ingest_interactions"),
        st.lists(st.tuples(st.integers(0, POOL - 1), st.none() | st.integers(0, POOL - 1), WHO, WHO, st.booleans()),
                 min_size=1, max_size=3),
    ),
    st.tuples(st.just("ingest_contacts"), WHO, st.lists(st.integers(0, POOL - 1), min_size=1, max_size=3)),
    st.tuples(st.just("recording"), st.sampled_from(["status", "download", "retry"]), st.integers(0, POOL - 1)),
    st.tuples(st.just("retention_get")),
    st.tuples(st.just("retention_put"), st.none() | st.integers(1, 3650), st.booleans(), MAYBE_WHO),
    st.tuples(st.just("audit_log"), st.integers(0, 3)),
)


@dataclass
class Pair:
    own: Tenant
    other: Tenant

    def ids(self, who: str) -> Tenant:
        return self.own if who == "own" else self.other


def _pair(*, same_org: bool, shared_bot: bool) -> Pair:
    own, other = make_tenant(), make_tenant()
    if same_org:
        Account.objects.filter(pk=other.account.pk).update(org_id=own.account.org_id)
        other.account.refresh_from_db()
    if shared_bot:
        # Bot ids are unique per account only: the other account may have a bot of the same id.
        other.bot = BotFactory(account=other.account, bot_id=own.bot.bot_id)
    return Pair(own=own, other=other)


def _seed(tenant: Tenant, data: Data, mark: str) -> None:
    """Store an account's data through the ingestion paths; its files and settings carry ``mark``."""
    records = []
    for session, conversation, voice in data.sessions:
        fields = {"sessionId": session_id(session), "botId": tenant.bot.bot_id, "userId": f"u-{mark}",
                  "orgId": tenant.account.org_id}
        if conversation is None:
            records.append(SessionRecordFactory(**fields))
            continue
        record = ConversationRecordFactory(**fields, conversationId=conversation_id(conversation))
        if voice:
            record["recordingSources"] = [{"url": f"https://rec.example.com/{mark}/{session}.flac", "channel": "mixed"}]
        else:
            record["channel"] = "rtm"
        records.append(record)
    assert interactions_ingest(account=tenant.account, records=records).rejected == []
    contacts = [
        ContactDocumentFactory(conversation_id=conversation_id(index), custom_fields={"owner": mark},
                               auditor=f"Auditor {mark}")
        for index in data.contacts
    ]
    assert contacts_ingest(stream=tenant.bot, records=contacts).rejected == []
    # The worker's outcomes, written directly: the first recording fetched, the others failed.
    storage = recording_storage()
    for number, recording in enumerate(Recording.objects.filter(account=tenant.account).order_by("pk")):
        if number == 0:
            key = f"{mark}/{recording.pk}.flac"
            storage.save(key, io.BytesIO(f"fLaC audio of {mark}".encode()))
            recording.files.update(state=RecordingState.AVAILABLE, storage_key=key, size_bytes=18, sha256="0" * 64)
            recording.state = RecordingState.AVAILABLE
        else:
            recording.files.update(state=RecordingState.INITIAL_FETCH_FAILED, attempts=1)
            recording.state = RecordingState.INITIAL_FETCH_FAILED
        recording.save(update_fields=["state"])
    retention_settings_update(
        account=tenant.account, actor="system", retention_days=data.retention_days, notify_customers=data.notify,
        notification_email=f"privacy-{mark}@example.com",
    )


def _snapshot(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row of the account, every column: what must be identical after the other's requests."""
    account = tenant.account
    querysets = {
        "account": Account.objects.filter(pk=account.pk),
        "bots": Bot.objects.filter(account=account),
        "clients": ApiClient.objects.filter(account=account),
        "interactions": Interaction.objects.filter(account=account),
        "queues": InteractionQueue.objects.filter(account=account),
        "contacts": QaContact.objects.filter(account=account),
        "custom_fields": QaContactCustomField.objects.filter(stream__account=account),
        "recordings": Recording.objects.filter(account=account),
        "recording_files": RecordingFile.objects.filter(recording__account=account),
        "retention": RetentionSettings.objects.filter(account=account),
        "audit": AuditEntry.objects.filter(account=account),
    }
    rows = {
        name: [{**model_to_dict(row), "pk": row.pk, **_timestamps(row)} for row in queryset.order_by("pk")]
        for name, queryset in querysets.items()
    }
    storage = recording_storage()
    keys = [row["storage_key"] for row in rows["recording_files"] if row["storage_key"]]
    rows["stored_audio"] = [{"key": key, "bytes": storage.open(key).read()} for key in keys]
    return rows


def _timestamps(row: Any) -> dict[str, Any]:
    # model_to_dict leaves out non-editable fields such as auto_now timestamps: a write shows there.
    return {field.name: getattr(row, field.name) for field in row._meta.concrete_fields if not field.editable}


def _request(pair: Pair, request: tuple[Any, ...]) -> tuple[Any, str]:
    """Send one symbolic request as the own account; return the response and what was sent."""
    own, other = pair.own, pair.other
    kind = request[0]
    if kind == "details":
        _, calls, path_who, header_who, iid_who, bots_who = request
        path = f"/agentassist/api/public/analytics/account/{pair.ids(path_who).account_id}/v2/"
        path += "calldetails" if calls else "interactionDetails"
        headers = {}
        if header_who:
            headers["accountId"] = pair.ids(header_who).account_id
        if iid_who:
            headers["IId"] = pair.ids(iid_who).bot.bot_id
        body = {**WINDOW, "selectedFields": {"customerinfo": [], "skills": []}}
        if bots_who:
            body["bots"] = [pair.ids(bots_who).bot.bot_id]
        return own.post(path, body, **headers), json.dumps([path, headers, body])
    if kind == "rawdata":
        _, stream_who, account_who, org_who = request
        path = f"/qualityai/api/v1/public/qualitymanagement/app/{pair.ids(stream_who).bot.bot_id}/rawdata"
        headers = {"accountId": pair.ids(account_who).account_id, "orgId": pair.ids(org_who).account.org_id}
        return own.post(path, QA_WINDOW, **headers), json.dumps([path, headers])
    if kind == "ingest_interactions":
        records = []
        for session, conversation, bot_who, org_who, recorded in request[1]:
            record = ConversationRecordFactory(
                sessionId=session_id(session), botId=pair.ids(bot_who).bot.bot_id, userId=f"u-{OWN_MARK}",
                orgId=pair.ids(org_who).account.org_id, accountId=pair.ids(org_who).account_id,
            )
            if conversation is None:
                del record["conversationId"]
            else:
                record["conversationId"] = conversation_id(conversation)
            if recorded:
                record["recordingSources"] = [{"url": "https://rec.example.com/new.flac", "channel": "agent"}]
            records.append(record)
        return own.post("/api/v1/ingest/interactions", {"records": records}), json.dumps(records)
    if kind == "ingest_contacts":
        _, stream_who, conversations = request
        path = f"/api/v1/ingest/qualityai/{pair.ids(stream_who).bot.bot_id}/contacts"
        body = {"records": [ContactDocumentFactory(conversation_id=conversation_id(index), score=1)
                            for index in conversations]}
        return own.post(path, body), json.dumps([path, body])
    # Endpoints scoped by the token alone get the other account's ids in headers all the same.
    others = {"accountId": other.account_id, "orgId": other.account.org_id}
    if kind == "recording":
        _, action, index = request
        path = f"/api/v1/recordings/{conversation_id(index)}"
        if action == "retry":
            return own.post(path + "/retry", **others), path + json.dumps(others)
        return own.get(path + ("/download" if action == "download" else ""), **others), path + json.dumps(others)
    if kind == "retention_get":
        return own.get("/api/v1/settings/retention", **others), json.dumps(others)
    if kind == "retention_put":
        _, days, notify, account_who = request
        body = {"retentionDays": days, "notifyCustomers": notify, "notificationEmail": "ops@example.com"}
        if account_who:
            body["accountId"] = pair.ids(account_who).account_id
        return own.put("/api/v1/settings/retention", body, **others), json.dumps([body, others])
    offset = request[1]
    return own.get(f"/api/v1/settings/audit-log?offset={offset}&limit=100", **others), json.dumps(others)


def _content(response: Any) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = json.dumps(dict(response.headers))
    return body.decode("utf-8", errors="replace") + headers


def _expected_status(pair: Pair, request: tuple[Any, ...]) -> int | None:
    """The status the contract prescribes where the request's ids alone decide it."""
    kind = request[0]
    shared_bot = pair.own.bot.bot_id == pair.other.bot.bot_id
    if kind == "details":
        _, _, path_who, header_who, iid_who, _ = request
        if "other" in (path_who, header_who):
            return 403
        return 404 if iid_who == "other" and not shared_bot else 200
    if kind == "rawdata":
        _, stream_who, account_who, org_who = request
        if account_who == "other" or (org_who == "other" and pair.other.account.org_id != pair.own.account.org_id):
            return 403
        return 404 if stream_who == "other" and not shared_bot else 200
    if kind == "recording":
        owns = Recording.objects.filter(account=pair.own.account, conversation_id=conversation_id(request[2])).exists()
        return None if owns else 404
    return None


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    # Hundreds of requests per run: rate limits must not answer 429 in place of the real answer.
    settings.RATE_LIMIT_PER_MINUTE = settings.RATE_LIMIT_PER_HOUR = 10**9
    settings.AUTH_FAILURES_PER_MINUTE = 10**9


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(
    same_org=st.booleans(),
    shared_bot=st.booleans(),
    own_data=account_data(),
    other_data=account_data(),
    requests=st.lists(REQUESTS, min_size=1, max_size=8),
)
def test_no_request_ever_reads_or_changes_another_accounts_data(
    same_org: bool, shared_bot: bool, own_data: Data, other_data: Data, requests: list[tuple[Any, ...]]
) -> None:
    # Each example builds its accounts in a savepoint rolled back at its end, so no example sees
    # another's rows although they share the test's transaction (why no function-scoped fixture
    # holds data here).
    with transaction.atomic():
        pair = _pair(same_org=same_org, shared_bot=shared_bot)
        _seed(pair.own, own_data, OWN_MARK)
        _seed(pair.other, other_data, SECRET)
        before = _snapshot(pair.other)
        never = {pair.other.api_client.client_id, pair.other.api_client.secret, SECRET}
        # Its ids may come back only once the caller has sent them itself (an error quoting the
        # path, a record it ingested naming them) or when the two accounts share them.
        own_ids = {pair.own.account.org_id, pair.own.bot.bot_id}
        unless_sent = {pair.other.account_id, pair.other.account.org_id, pair.other.bot.bot_id} - own_ids
        sent = ""

        for request in requests:
            response, sent_now = _request(pair, request)
            sent += sent_now
            content = _content(response)
            assert response.status_code < 500, (request, content[:500])
            expected = _expected_status(pair, request)
            assert expected is None or response.status_code == expected, (request, response.status_code, content)
            leaked = [value for value in never if value in content]
            leaked += [value for value in unless_sent if value in content and value not in sent]
            assert not leaked, (request, leaked, content[:1000])

        assert _snapshot(pair.other) == before
        transaction.set_rollback(True)
