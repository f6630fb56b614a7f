from __future__ import annotations

from django.urls import path

from content.views import ConversationQueryView, ConversationView, EventsView, LatencyView, TranscriptView

_CONVERSATION = "api/v1/conversations/<str:sessionId>"

urlpatterns = [
    # Before the conversation's own path, which would otherwise take "query" for a session id.
    path("api/v1/conversations/query", ConversationQueryView.as_view(), name="conversations-query"),
    path(_CONVERSATION, ConversationView.as_view(), name="conversation"),
    path(_CONVERSATION + "/transcript", TranscriptView.as_view(), name="conversation-transcript"),
    path(_CONVERSATION + "/events", EventsView.as_view(), name="conversation-events"),
    path(_CONVERSATION + "/latency", LatencyView.as_view(), name="conversation-latency"),
]
