from __future__ import annotations

from django.urls import path, re_path

from conversations.views import CallDetailsView, InteractionDetailsView, InteractionIngestView

_ACCOUNT = r"^agentassist/api/public/analytics/account/(?P<account_id>[^/]+)/v2/"

urlpatterns = [
    # The reference documents spell the segment both interactionDetails and interactiondetails.
    re_path(_ACCOUNT + r"(?i:interactiondetails)/?$", InteractionDetailsView.as_view(), name="interaction-details"),
    re_path(_ACCOUNT + r"(?i:calldetails)/?$", CallDetailsView.as_view(), name="call-details"),
    path("api/v1/ingest/interactions", InteractionIngestView.as_view(), name="ingest-interactions"),
]
