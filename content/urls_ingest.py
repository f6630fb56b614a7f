from __future__ import annotations

from django.urls import path

from content.views_ingest import ConversationIngestView

urlpatterns = [
    path("api/v1/ingest/conversations", ConversationIngestView.as_view(), name="ingest-conversations"),
]
