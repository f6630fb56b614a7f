"""The change log behind the feed (docs/contract.md#change-feed): one lean row per change of a record.

A row says that the record ``key`` of ``dataset`` in ``account`` changed (``upsert``) or is gone
(``delete``); the record itself is read from its own table when the feed serves it. The feed's
position of a row is ``(txid, id)``: ``id`` comes from a sequence, ``txid`` is the id of the
PostgreSQL transaction that wrote it (0 on SQLite, whose writers are serialized). A row's ``id``
is also the record's ``version``: it grows with every change of that record.
"""

from __future__ import annotations

from django.db import models

from analytics_api.kernel.partitions import monthly
from analytics_api.models import Account


class ChangeOp(models.TextChoices):
    UPSERT = "upsert", "Upsert"
    DELETE = "delete", "Delete"


class Change(models.Model):
    id = models.BigAutoField(primary_key=True)
    # Covered by both indexes below, which start with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    dataset = models.CharField(max_length=32)
    # interactions: the sessionId; qa_contacts: "<streamId>/<Conversation ID>".
    key = models.CharField(max_length=256)
    op = models.CharField(max_length=8, choices=ChangeOp.choices)
    txid = models.BigIntegerField(default=0, help_text="PostgreSQL: the writing transaction (pg_current_xact_id)")
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The feed: one range scan in position order.
            models.Index(fields=["account", "dataset", "txid", "id"], name="change_feed_order"),
            # A record's current version (its latest change) and compaction.
            models.Index(fields=["account", "dataset", "key", "id"], name="change_key_version"),
            models.Index(fields=["changed_at"], name="change_age"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.key} {self.op}"


class ChangeHorizon(models.Model):
    """The pruning state (one row): changes up to the position ``(txid, seq)`` may have been pruned,
    and ``generation`` counts the prunes that deleted something. A cursor carries the generation it
    was issued under: one of the current generation is good even below the horizon (its reader read
    what the last prune left), an older one only at or after the horizon (see changes.feed)."""

    txid = models.BigIntegerField(default=0)
    seq = models.BigIntegerField(default=0)
    generation = models.BigIntegerField(default=0)
    pruned_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"({self.txid}, {self.seq})"


# Monthly partitions on PostgreSQL (migration 0004): months emptied by the pruning are dropped whole.
monthly("changes_change", column="changed_at")
