"""Interaction records (docs/contract.md#interaction-ordering): indexed columns for filters and order, and the document.

The document is the record as served by interactionDetails, with every time stored in UTC; the
columns duplicate the few values that queries filter and order on, so a page is one index scan.
"""

from __future__ import annotations

from django.db import models

from analytics_api.kernel.fields import FastJSONField
from analytics_api.kernel.partitions import monthly
from analytics_api.models import Account


class Channel(models.TextChoices):
    RTM = "rtm", "Web/Mobile Client"
    VOICE = "voice", "Voice"
    EMAIL = "email", "System Mail"


class Interaction(models.Model):
    # No single-column index: every index below starts with the account, and a bare account index
    # lures the planner into reading a whole account when a window index would read one page.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="interactions", db_index=False)
    session_id = models.CharField(max_length=128)
    conversation_id = models.CharField(max_length=128, null=True, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    bot_id = models.CharField(max_length=64)
    session_start = models.DateTimeField()
    session_end = models.DateTimeField(null=True, blank=True)
    document = FastJSONField(help_text="The record as served, times in UTC (YYYY-MM-DDTHH:MM:SS.mmmZ)")
    served = models.TextField(
        null=True, blank=True, editable=False,
        help_text="The document pre-rendered as JSON text with markers (conversations.documents); empty: render",
    )
    served_version = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False,
        help_text="Format of served; not conversations.documents.PRERENDER_VERSION: render (manage.py prerender)",
    )
    recording_sources = FastJSONField(
        default=list, blank=True, help_text="[{url, channel}] for the recordings worker; never served"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "session_id"], name="interaction_session_per_account"),
        ]
        indexes = [
            # One ordered range scan per page: window on session_start, ties broken by session_id.
            models.Index(fields=["account", "session_start", "session_id"], name="interaction_window"),
            models.Index(
                fields=["account", "channel", "session_start", "session_id"], name="interaction_channel_window"
            ),
            models.Index(fields=["account", "bot_id", "session_start", "session_id"], name="interaction_bot_window"),
            models.Index(fields=["account", "conversation_id"], name="interaction_conversation"),
        ]

    def __str__(self) -> str:
        return self.conversation_id or self.session_id


class InteractionQueue(models.Model):
    """One row per queue an interaction entered, so the ``queues`` filter pages on an index of its own.

    The link repeats what a page of the filter orders and narrows on (account, start, session id,
    channel, bot), so a ``queues`` page is one ordered range scan of (account, queue_id,
    session_start, session_id) followed by a read of the page's records by key
    (``conversations.selectors``), whatever its depth.
    """

    # No database constraint: on PostgreSQL the parent is partitioned by month and its key is
    # (id, start) (analytics_api.kernel.partitions); deletions cascade through Django.
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="queue_links", db_constraint=False
    )
    # Covered by the (account, queue_id, session_start, session_id) index.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    queue_id = models.CharField(max_length=128)
    session_start = models.DateTimeField()
    session_id = models.CharField(max_length=128)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    bot_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["interaction", "queue_id"], name="interaction_queue_once"),
        ]
        indexes = [
            models.Index(
                fields=["account", "queue_id", "session_start", "session_id", "interaction"],
                name="interaction_queue_page",
            ),
        ]

    def __str__(self) -> str:
        return self.queue_id


# Monthly partitions on PostgreSQL (migration 0005); (account, sessionId) stays unique through the key table.
monthly("conversations_interaction", column="session_start", scope="account_id", key="session_id")
monthly("conversations_interactionqueue", column="session_start")
