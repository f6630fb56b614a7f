"""The search index and the search history (docs/search.md).

The index is derived data: :func:`search.services.search_index_refresh` rewrites a conversation's
rows from its stored content in the writer's transaction, and the rows go with the conversation
(``on_delete=CASCADE``), so a deleted conversation is never found.

* ``SearchMessage``: the searchable text. On SQLite one row per unit (a message, an e-mail
  subject, a note, a remark) with its terms, indexed by the FTS5 table ``search_message_fts``
  (external content, kept in step by triggers). On PostgreSQL one row per *vector*: the units of a
  conversation packed into a ``tsvector`` with an empty position between units (a phrase never spans
  two), under a GIN index — usually one row for the conversation and one for its agent-assist log
  (docs/search.md#engines). Each row repeats its conversation's start (the search window).
* ``SearchIdentifier``: every identifier of a conversation, folded, for id search.
* ``SearchPhrase``: the last phrases of a caller (API client + acting user).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from analytics_api.models import Account, ApiClient
from content.models import Conversation
from search.text import MAX_QUERY_LENGTH

# The phrases kept per caller (API client + acting user).
HISTORY_SIZE = 10


class TermVectorField(models.Field):
    """PostgreSQL ``tsvector`` (written as a literal with positions); unused text on SQLite."""

    description = "Search terms as a tsvector"

    def db_type(self, connection: Any) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"


class SearchMessage(models.Model):
    # No database constraint: on PostgreSQL the parent is partitioned by month and its key is
    # (id, start) (analytics_api.kernel.partitions); deletions cascade through Django.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The conversation's start, written with the row; a writer that moves a start refreshes the
    # conversation's rows in the same transaction (content.services). On
    # PostgreSQL the GIN index holds (account, start, vector), so one index scan applies the
    # account, the window and the words together (docs/search.md#performance).
    started_at = models.DateTimeField(help_text="The conversation's start")
    agent_ai = models.BooleanField(default=False, help_text="Agent-assist (agent_ai) messages")
    terms = models.TextField(help_text="SQLite: the unit's stems in order, separated by spaces (search.text)")
    vector = TermVectorField(null=True, blank=True, help_text="PostgreSQL: the units' stems with their positions")

    def __str__(self) -> str:
        return self.terms[:40]


class SearchIdentifier(models.Model):
    # No database constraint: on PostgreSQL the parent is partitioned by month and its key is
    # (id, start) (analytics_api.kernel.partitions); deletions cascade through Django.
    # No index of its own: the unique pair (conversation, value) starts with it.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    value = models.CharField(max_length=255, help_text="Trimmed and case-folded")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "value"], name="search_identifier_once"),
        ]
        indexes = [models.Index(fields=["account", "value"], name="search_identifier_lookup")]

    def __str__(self) -> str:
        return self.value


class SearchPhrase(models.Model):
    # No index of its own: the unique triple and the recent index below start with it.
    api_client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+", db_index=False)
    acting_user = models.CharField(max_length=128, blank=True, default="", help_text="X-Acting-User; empty: none")
    phrase = models.CharField(max_length=MAX_QUERY_LENGTH, help_text="As last typed (blanks collapsed)")
    # Case folding turns a character into up to three ("ß" -> "ss", "ﬄ" -> "ffl"), so a phrase at
    # the length limit folds to at most three times as many.
    phrase_key = models.CharField(max_length=3 * MAX_QUERY_LENGTH, help_text="Case-folded: one entry per phrase")
    searched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_client", "acting_user", "phrase_key"], name="search_phrase_once"),
        ]
        indexes = [
            models.Index(fields=["api_client", "acting_user", "searched_at"], name="search_phrase_recent"),
        ]

    def __str__(self) -> str:
        return self.phrase
