from __future__ import annotations

from django.urls import path

from supervision import views

urlpatterns = [
    # Literal paths, included before content.urls, whose {sessionId} path would otherwise take them;
    # DELETE /api/v1/conversations/{sessionId} is served by content.views.ConversationView (one view per path).
    path("api/v1/conversations/export-transcripts", views.TranscriptExportView.as_view(), name="transcripts-export"),
    path("api/v1/conversations/export", views.ConversationExportView.as_view(), name="conversations-export"),
    path("api/v1/conversations/<str:sessionId>/dispositions", views.DispositionsView.as_view(), name="dispositions"),
    path(
        "api/v1/conversations/<str:sessionId>/dispositions/log",
        views.DispositionLogView.as_view(),
        name="disposition-log",
    ),
    path("api/v1/conversations/<str:sessionId>/flags", views.FlagsView.as_view(), name="flags"),
    path("api/v1/conversations/<str:sessionId>/flags/<str:flagId>", views.FlagView.as_view(), name="flag"),
    path("api/v1/filters", views.FiltersView.as_view(), name="filters"),
    path("api/v1/filters/<str:filterId>", views.FilterView.as_view(), name="filter"),
    path("api/v1/filters/<str:filterId>/duplicate", views.FilterDuplicateView.as_view(), name="filter-duplicate"),
    path("api/v1/filters/<str:filterId>/default", views.FilterDefaultView.as_view(), name="filter-default"),
    path("api/v1/settings/privacy", views.PrivacySettingsView.as_view(), name="privacy-settings"),
    path("api/v1/privacy/erasures", views.ErasuresView.as_view(), name="erasures"),
]
