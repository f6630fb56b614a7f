"""Writes of the change log (docs/contract.md#change-feed): recording changes, and pruning old ones.

Every write path of a dataset in the feed calls :func:`changes_record` inside the transaction of
its write, after the write itself, so the change and the record commit (or roll back) together:

* ``conversations.services.interactions_upsert`` (ingestion, imports, ``seed_demo``);
* ``qualityai.services.contacts_upsert`` and ``stream_settings_set`` (``duration_status`` is part of the
  served contact, through :func:`changes_record_qa_contacts`);
* the recordings worker and the retention job, whose files appear as and vanish from the contacts'
  recording links (:func:`changes_record_qa_contacts`);
* ``content.services.content_upsert`` (conversation content: new, updated, appended) and
  ``conversations_from_interactions`` (the conversation of each ingested interaction);
* ``supervision.dispositions.dispositions_update`` and ``supervision.flags`` (both datasets they touch);
* any later deletion (erasure, retention of records): ``changes_record(..., op="delete")``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Concat
from django.utils import timezone

from analytics_api.kernel.partitions import partitions_retire
from changes.models import Change, ChangeHorizon, ChangeOp
from qualityai.models import QaContact

# Keys per statement when a whole stream's contacts are recorded.
RECORD_CHUNK = 10_000


def changes_record(*, account_id: int, dataset: str, keys: Iterable[str], op: str = ChangeOp.UPSERT) -> int:
    """Record that the records ``keys`` of ``dataset`` in account ``account_id`` (its primary key) changed.

    ``op`` is ``"upsert"`` (the record was created or updated: the feed serves its current state)
    or ``"delete"`` (it is gone: the feed serves a tombstone). Call it inside the transaction that
    writes the records, after writing them: row locks taken by that write keep two changes of the
    same record in order. One statement whatever the number of keys; returns how many were recorded.
    Keys are the feed's keys (interactions: the sessionId; qa_contacts: ``<streamId>/<Conversation ID>``).
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        return 0
    now = timezone.now()
    if connection.vendor == "postgresql":
        # The writing transaction's id orders the change in the feed: see changes.feed.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Change._meta.db_table} (account_id, dataset, key, op, txid, changed_at) "
                "SELECT %s, %s, k, %s, pg_current_xact_id()::text::bigint, %s FROM unnest(%s::text[]) AS k",
                [account_id, dataset, str(op), now, keys],
            )
    else:
        # One statement however many keys (a bulk_create would be split at 999 parameters).
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Change._meta.db_table} (account_id, dataset, key, op, txid, changed_at) "
                "SELECT %s, %s, value, %s, 0, %s FROM json_each(%s)",
                [account_id, dataset, str(op), connection.ops.adapt_datetimefield_value(now), json.dumps(keys)],
            )
    return len(keys)


def changes_record_qa_contacts(
    *, account_id: int, conversation_ids: Iterable[str] | None = None, stream_id: int | None = None
) -> int:
    """Record an upsert of the Quality AI contacts whose served form changed without being written:
    those of ``conversation_ids`` (their recording links changed) or every contact of the stream
    ``stream_id`` (a Bot's primary key: its minimum duration changed)."""
    contacts = QaContact.objects.filter(account_id=account_id)
    if conversation_ids is not None:
        contacts = contacts.filter(conversation_id__in=list(conversation_ids))
    if stream_id is not None:
        contacts = contacts.filter(stream_id=stream_id)
    keys = contacts.order_by("pk").values_list(Concat(F("stream__bot_id"), Value("/"), F("conversation_id")), flat=True)
    recorded = 0
    batch: list[str] = []
    for key in keys.iterator(chunk_size=RECORD_CHUNK):
        batch.append(key)
        if len(batch) == RECORD_CHUNK:
            recorded += changes_record(account_id=account_id, dataset="qa_contacts", keys=batch)
            batch = []
    return recorded + changes_record(account_id=account_id, dataset="qa_contacts", keys=batch)


@dataclass(frozen=True)
class PruneReport:
    deleted: int
    horizon: tuple[int, int]
    generation: int
    dropped: list[str] = field(default_factory=list)


def changes_prune() -> PruneReport:
    """Drop what the feed no longer needs after ``CHANGE_FEED_RETENTION_DAYS`` (daily job, ``prune_changes``).

    1. The horizon: the last position among changes older than the retention. A cursor before it
       handed out before this prune is expired (410): changes after that cursor may be gone.
    2. Delete the old changes that are superseded (a later change of the same record exists) and
       the old tombstones. The latest change of a living record is kept however old, so reading
       the feed from the beginning still delivers every current record.
    3. When something was deleted: move the horizon and count a new generation, in the same
       transaction as the deletions. Cursors handed out from then on carry it (changes.feed): a
       reader that starts after this prune may page through the kept changes below the horizon.
       A prune that deleted nothing changes neither, and expires no cursor.
    4. On PostgreSQL, drop the monthly partitions older than the retention that the deletions
       emptied (analytics_api.kernel.partitions.partitions_retire): a month of living records'
       latest changes stays.
    """
    cutoff = timezone.now() - timedelta(days=settings.CHANGE_FEED_RETENTION_DAYS)
    with transaction.atomic():
        old = Change.objects.filter(changed_at__lt=cutoff)
        last = old.order_by("-txid", "-id").values_list("txid", "id").first()
        horizon, _created = ChangeHorizon.objects.select_for_update().get_or_create(
            pk=1, defaults={"pruned_at": timezone.now()}
        )
        deleted = 0
        if last is not None:
            later = Change.objects.filter(
                account_id=OuterRef("account_id"), dataset=OuterRef("dataset"), key=OuterRef("key"),
                id__gt=OuterRef("id"),
            )
            # Superseded ones first: a tombstone deleted first would leave the upsert before it unsuperseded.
            deleted = old.filter(Exists(later)).delete()[0]
            deleted += old.filter(op=ChangeOp.DELETE).delete()[0]
            if deleted:
                horizon.txid, horizon.seq = max(last, (horizon.txid, horizon.seq))
                horizon.generation += 1
            horizon.pruned_at = timezone.now()
            horizon.save()
    dropped = partitions_retire(table=Change._meta.db_table, before=cutoff)
    return PruneReport(
        deleted=deleted, horizon=(horizon.txid, horizon.seq), generation=horizon.generation, dropped=dropped
    )
