"""The conversation itself: status, transcript, events, voice turns.

Sized for about 100 million conversations a month with some 30 messages each (docs/conversation-storage.md):
one narrow ``Conversation`` row per conversation carries every column the Conversations table filters
and orders on, so a page is one index range scan; the bulky parts (transcript, events, voice turns)
are one document per conversation in tables of their own, read only by the endpoint that serves
them — 100 million rows a month rather than three billion message rows, each compressed by
PostgreSQL's TOAST and fetched by primary key.

Every table carries the account and every unique key starts with it (the path to sharding by
account), and every table carries the conversation's start (the key of monthly partitions).
"""

from __future__ import annotations

from django.db import models
from django.db.models import OuterRef, Subquery

from analytics_api.kernel.fields import FastJSONField
from analytics_api.kernel.partitions import monthly
from analytics_api.models import Account


class Status(models.TextChoices):
    IN_PROGRESS = "in_progress", "In Progress"
    ERROR = "error", "Error"
    COMPLETED_DROP_OFF = "completed_drop_off", "Completed (Drop Off)"
    COMPLETED_USER_HANGUP = "completed_user_hangup", "Completed (User Hangup)"
    COMPLETED_AI_AGENT_HANGUP = "completed_ai_agent_hangup", "Completed (AI Agents Hangup)"
    COMPLETED = "completed", "Completed"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"
    MIXED = "mixed", "Mixed"


class Conversation(models.Model):
    """One conversation of an account, keyed by its ``sessionId``; the row the Conversations table lists.

    Its interaction record (conversations.Interaction, same account and session id) and its content
    arrive in any order: the start is the interaction's ``sessionStartTime`` once known
    (``start_from_interaction``), until then the time of the first message or event.
    """

    # Every index below starts with the account (see conversations.Interaction for why no bare one).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversations", db_index=False)
    session_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    start_from_interaction = models.BooleanField(default=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=8, null=True, blank=True, help_text="rtm, voice or email")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.IN_PROGRESS)
    smart_status = models.CharField(max_length=200, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    language = models.CharField(max_length=32, null=True, blank=True)
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-5; null: not answered")
    csat_asked = models.BooleanField(default=False, help_text="The survey was triggered (answered or not)")
    nps_score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0-10; null: not answered")
    nps_asked = models.BooleanField(default=False)
    liked = models.BooleanField(null=True, blank=True, help_text="like: true/false; null: not answered")
    like_asked = models.BooleanField(default=False)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, null=True, blank=True)
    flagged = models.BooleanField(default=False, help_text="Has at least one flag (ingested or supervisor's)")
    sections = FastJSONField(
        default=dict, blank=True,
        help_text="The small sections as ingested (csat, nps, sentiment, flags, notes, snooze, campaign, "
        "mode, joinedUsers, identifiers, …), times in UTC",
    )
    message_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "session_id"], name="conversation_session_per_account"),
        ]
        indexes = [
            # The Conversations table: a window on the start, ties broken by session id, both directions.
            models.Index(fields=["account", "started_at", "session_id"], name="conversation_window"),
            models.Index(fields=["account", "status", "started_at", "session_id"], name="conversation_status_window"),
        ]

    def __str__(self) -> str:
        return self.session_id


class ConversationAgent(models.Model):
    """One row per agent of a conversation (in joining order): the ``agents`` filter is an indexed semi-join."""

    # No database constraint: on PostgreSQL the parent is partitioned by month and its key is
    # (id, start) (analytics_api.kernel.partitions); deletions cascade through Django.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="agent_links", db_constraint=False
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent_id = models.CharField(max_length=128)
    position = models.PositiveSmallIntegerField(help_text="Order in which the agent joined (0 first)")
    started_at = models.DateTimeField(help_text="The conversation's start")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "agent_id"], name="conversation_agent_once"),
        ]
        indexes = [
            models.Index(fields=["account", "agent_id", "started_at"], name="conversation_agent_window"),
        ]

    def __str__(self) -> str:
        return self.agent_id


class ConversationDocument(models.Model):
    """A section stored as one document per conversation, fetched by the conversation's key.

    Abstract: each section (diagnostics included) is a table of its own.
    """

    # No database constraint: on PostgreSQL the parent is partitioned by month and its key is
    # (id, start) (analytics_api.kernel.partitions); deletions cascade through Django.
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="+", db_constraint=False
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    started_at = models.DateTimeField(help_text="The conversation's start: the key of monthly partitions")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def of_conversation(cls, field: str) -> Subquery:
        """``field`` of the outer conversation's document of this kind (None when it has none), as a
        subquery of a ``Conversation`` queryset. By the conversation's key and start: a document carries
        its conversation's start (kept in step by ``content.services.documents_start_sync``), so on
        PostgreSQL only that month's partition is read (pruned when the statement runs)."""
        return Subquery(
            cls._default_manager.filter(conversation_id=OuterRef("pk"), started_at=OuterRef("started_at"))
            .values(field)[:1]
        )


class Transcript(ConversationDocument):
    """The messages in time order (then id), as ingested, times in UTC; appended by id in append mode."""

    messages = FastJSONField(default=list)

    def __str__(self) -> str:
        return f"transcript of {self.conversation_id}"


class EventLog(ConversationDocument):
    """The conversation's events (the twelve types of the contract) in time order, appended by id."""

    events = FastJSONField(default=list)

    def __str__(self) -> str:
        return f"events of {self.conversation_id}"


class VoiceTurns(ConversationDocument):
    """The timing points of each voice turn, times in UTC; latency is computed when read."""

    turns = FastJSONField(default=list)

    class Meta:
        verbose_name_plural = "voice turns"

    def __str__(self) -> str:
        return f"voice turns of {self.conversation_id}"


# Monthly partitions on PostgreSQL (migration 0004); (account, sessionId) stays unique through the key table.
monthly("content_conversation", column="started_at", scope="account_id", key="session_id")
for _table in ("content_conversationagent", "content_transcript", "content_eventlog", "content_voiceturns"):
    monthly(_table, column="started_at")
