"""Deleting conversations and erasing a customer (docs/contract.md#deletion-and-erasure).

One audited operation per request: every row of the conversations (interaction record, content,
disposition log, Quality AI contacts, recordings) and every stored recording object (filesystem or
S3) goes, and an audit entry stays. Objects are removed first, inside the transaction: when storage
fails, the rows stay and the request answers 503, and running it again finishes the work (removing a
missing object is not an error) — it is safe to retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analytics_api.kernel.errors import DEPENDENCY_RETRY_AFTER_SECONDS, ApiError
from analytics_api.models import Account
from changes.datasets import qa_contact_key
from changes.models import ChangeOp
from changes.services import changes_record
from content.models import Conversation, EventLog, Transcript, VoiceTurns
from conversations.models import Interaction
from diagnostics.models import CallDiagnostics
from qualityai.day_counts import contact_days_mark
from qualityai.models import QaContact
from recordings.jobs import temp_key
from recordings.models import AuditAction, AuditEntry, Recording, RecordingFile
from recordings.storage import StorageError, recording_storage
from search.models import SearchIdentifier, SearchMessage
from search.services import search_index_remove
from supervision.actors import Actor
from supervision.masking import customer_contacts
from supervision.models import DispositionChange
from supervision.selectors import conversation_target

# At most this many conversations of one customer are erased per request; more → run it again.
MAX_ERASED_CONVERSATIONS = 1000


@dataclass
class Erased:
    """What one operation removed: the conversations by session id and how many rows of each kind."""

    session_ids: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    audit_id: int | None = None
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessionIds": self.session_ids,
            "erased": {**self.counts, "storedObjects": self.objects},
            "auditId": self.audit_id,
            "more": self.more,
        }


def _recording_keys(account: Account, session_ids: list[str]) -> list[str]:
    """A recording is keyed by the conversation id of its interaction record, else by the session id."""
    ids = set(session_ids)
    ids.update(
        key for key in Interaction.objects.filter(account=account, session_id__in=session_ids)
        .values_list("conversation_id", flat=True) if key
    )
    return sorted(ids)


def _objects_delete(files: Iterable[RecordingFile]) -> int:
    """Remove every stored object of ``files`` (the final one and an attempt's temporary one)."""
    storage = recording_storage()
    removed = 0
    try:
        for item in files:
            keys = [item.storage_key] if item.storage_key else []
            if item.claim_token:
                keys.append(temp_key(item, item.claim_token))
            for key in keys:
                if storage.exists(key):
                    removed += 1
                storage.delete(key)
    except (OSError, StorageError) as error:
        raise ApiError(
            "The stored recordings could not be removed; nothing was erased. Retry shortly.",
            code="storage_unavailable",
            status_code=503,
            headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
        ) from error
    return removed


def conversations_erase(
    *, account: Account, session_ids: list[str], actor: Actor, action: str, details: dict[str, Any]
) -> Erased:
    """Erase the conversations ``session_ids`` of ``account`` and audit it (``action``, ``details``).

    1. Lock the rows; remove the recordings' stored objects (503 and nothing erased if storage fails).
    2. Delete, counting each kind: recordings (with their files), Quality AI contacts of the
       conversations, search entries, content (conversation, transcript, events, voice turns, call
       diagnostics, agent links), the
       disposition log, the interaction records (with their queue links).
       Tombstones of the interaction records, conversations and Quality AI contacts go to the change feed.
    3. Write one audit entry naming the conversations and the counts.
    """
    erased = Erased(session_ids=list(session_ids))
    with transaction.atomic():
        keys = _recording_keys(account, erased.session_ids)
        recordings = Recording.objects.select_for_update().filter(account=account, conversation_id__in=keys)
        files = list(RecordingFile.objects.filter(recording__in=recordings).select_related("recording"))
        erased.objects = _objects_delete(files)
        conversations = Conversation.objects.filter(account=account, session_id__in=erased.session_ids)
        counts = {
            "transcripts": Transcript.objects.filter(conversation__in=conversations).count(),
            "events": EventLog.objects.filter(conversation__in=conversations).count(),
            "voiceTurns": VoiceTurns.objects.filter(conversation__in=conversations).count(),
            "diagnostics": CallDiagnostics.objects.filter(conversation__in=conversations).count(),
            "recordingFiles": len(files),
        }
        interactions = Interaction.objects.filter(account=account, session_id__in=erased.session_ids)
        contacts = QaContact.objects.filter(account=account, conversation_id__in=keys)
        # Tombstones for the change feed: the feed serves a deleted record as op "delete".
        changes_record(account_id=account.pk, dataset="interactions", op=ChangeOp.DELETE,
                       keys=list(interactions.values_list("session_id", flat=True)))
        changes_record(account_id=account.pk, dataset="conversations", op=ChangeOp.DELETE,
                       keys=list(conversations.values_list("session_id", flat=True)))
        changes_record(account_id=account.pk, dataset="qa_contacts", op=ChangeOp.DELETE, keys=[
            qa_contact_key(stream_id, conversation_id)
            for stream_id, conversation_id in contacts.values_list("stream__bot_id", "conversation_id")
        ])
        counts["recordings"] = recordings.delete()[1].get(Recording._meta.label, 0)
        contact_days_mark(stream_days=contacts.values_list("stream_id", "started_at"))
        counts["qaContacts"] = contacts.delete()[1].get(QaContact._meta.label, 0)
        conversation_pks = list(conversations.values_list("pk", flat=True))
        counts["searchEntries"] = (
            SearchMessage.objects.filter(account=account, conversation_id__in=conversation_pks).count()
            + SearchIdentifier.objects.filter(account=account, conversation_id__in=conversation_pks).count()
        )
        search_index_remove(account_id=account.pk, conversation_ids=conversation_pks)
        counts["conversations"] = conversations.delete()[1].get(Conversation._meta.label, 0)
        counts["dispositionChanges"] = DispositionChange.objects.filter(
            account=account, session_id__in=erased.session_ids
        ).delete()[0]
        counts["interactions"] = interactions.delete()[1].get(Interaction._meta.label, 0)
        erased.counts = dict(sorted(counts.items()))
        entry = AuditEntry.objects.create(
            account=account,
            at=timezone.now(),
            actor=actor.audit_name,
            action=action,
            conversation_id=erased.session_ids[0] if len(erased.session_ids) == 1 else "",
            details={**details, "sessionIds": erased.session_ids, "erased": erased.as_dict()["erased"]},
        )
        erased.audit_id = entry.pk
    return erased


def conversation_delete(*, account: Account, session_id: str, actor: Actor) -> Erased:
    """``DELETE /api/v1/conversations/{sessionId}``: 404 when unknown (also once deleted)."""
    with transaction.atomic():
        conversation_target(account=account, session_id=session_id, lock=True)
        return conversations_erase(
            account=account, session_ids=[session_id], actor=actor, action=AuditAction.CONVERSATION_DELETED,
            details={},
        )


def customer_conversations(*, account: Account, customer: dict[str, str]) -> list[str]:
    """The session ids of every conversation of one customer (by phone, e-mail or userId), oldest first.

    The candidates are found by the fields that hold the customer's identity (JSON lookups on the
    interaction documents and the content's sections), then kept only when supervision.masking's
    rule agrees the value is that customer's: the same rule decides what is masked and what is erased.
    """
    (kind, value), = customer.items()
    if kind == "userId":
        interactions = Q(document__userId=value)
        content = Q(sections__userId=value) | Q(sections__customer__userId=value)
    else:
        paths = (
            "customerinfo__CustomerPhone", "customerinfo__CustomerEmail", "metaInfo__email",
            "metaInfo__phoneNumber", "metaInfo__caller", "metaInfo__callee", "channelSpecificUserId",
        )
        interactions = Q()
        for path in paths:
            interactions |= Q(**{f"document__{path}": value})
        content = Q()
        for path in ("identifiers__caller", "identifiers__callee", f"customer__{kind}"):
            content |= Q(**{f"sections__{path}": value})
    found: dict[str, Any] = {}
    for session_id, started, document in Interaction.objects.filter(interactions, account=account).values_list(
        "session_id", "session_start", "document"
    ):
        if kind == "userId" or value in customer_contacts(document=document):
            found[session_id] = started
    for session_id, started, sections in Conversation.objects.filter(content, account=account).values_list(
        "session_id", "started_at", "sections"
    ):
        if kind == "userId" or value in customer_contacts(sections=sections):
            found.setdefault(session_id, started)
    return [session_id for session_id, _started in sorted(found.items(), key=lambda item: (item[1], item[0]))]


def customer_erase(*, account: Account, customer: dict[str, str], actor: Actor) -> Erased:
    """``POST /api/v1/privacy/erasures``: erase every conversation of the customer (none is not an error).

    Up to ``MAX_ERASED_CONVERSATIONS`` per request (``more`` says when some remain: send it again).
    """
    session_ids = customer_conversations(account=account, customer=customer)
    batch = session_ids[:MAX_ERASED_CONVERSATIONS]
    kind = next(iter(customer))
    erased = conversations_erase(
        account=account, session_ids=batch, actor=actor, action=AuditAction.CUSTOMER_ERASED,
        # The audit entry says how the customer was named, not the value: it must not keep what it erased.
        details={"customerBy": kind},
    )
    erased.more = len(session_ids) > len(batch)
    return erased
