"""Voice diagnostics of a call (docs/contract.md#voice-diagnostics): its SIP flow, RTCP reports and participants.

One document per voice conversation, like the transcript (content.models.ConversationDocument): read
whole by one endpoint, replaced whole by ingestion.
"""

from __future__ import annotations

from analytics_api.kernel.fields import FastJSONField
from analytics_api.kernel.partitions import monthly
from content.models import ConversationDocument


class CallDiagnostics(ConversationDocument):
    """The ``diagnostics`` section as ingested (validated by diagnostics.checks), times in UTC."""

    document = FastJSONField(default=dict)

    class Meta:
        verbose_name_plural = "call diagnostics"

    def __str__(self) -> str:
        return f"diagnostics of {self.conversation_id}"


monthly("diagnostics_calldiagnostics", column="started_at")
