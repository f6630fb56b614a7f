from __future__ import annotations

from django.urls import path, re_path

from conversations.views import CallDetailsView, InteractionDetailsView, InteractionIngestView

_ACCOUNT = "agentassist/api/public/analytics/account/<str:accountId>/v2/"
_ACCOUNT_RE = r"^agentassist/api/public/analytics/account/(?P<accountId>[^/]+)/v2/"


def _any_case(word: str) -> str:
    # Character classes rather than (?i): Django cannot reverse inline flags, and would then fail
    # to reverse any URL of the project.
    return "".join(f"[{char.lower()}{char.upper()}]" if char.isalpha() else char for char in word)


urlpatterns = [
    path(_ACCOUNT + "interactionDetails", InteractionDetailsView.as_view(), name="interaction-details"),
    path(_ACCOUNT + "calldetails", CallDetailsView.as_view(), name="call-details"),
    # The reference documents also write interactiondetails: any letter case is the same endpoint
    # (left out of the schema, which documents the canonical spelling).
    re_path(_ACCOUNT_RE + _any_case("interactiondetails") + "$", InteractionDetailsView.as_view(schema=None)),
    re_path(_ACCOUNT_RE + _any_case("calldetails") + "$", CallDetailsView.as_view(schema=None)),
    path("api/v1/ingest/interactions", InteractionIngestView.as_view(), name="ingest-interactions"),
]
