from __future__ import annotations

from django.urls import path

from search.views import SearchHistoryView

# Included before the conversation reads, whose /api/v1/conversations/<sessionId> would take this path.
urlpatterns = [
    path("api/v1/conversations/search-history", SearchHistoryView.as_view(), name="search-history"),
]
