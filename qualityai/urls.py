from __future__ import annotations

from django.urls import path

from qualityai.views import ContactIngestView, RawdataView

urlpatterns = [
    path(
        "qualityai/api/v1/public/qualitymanagement/app/<str:streamId>/rawdata",
        RawdataView.as_view(),
        name="qualityai-rawdata",
    ),
    path("api/v1/ingest/qualityai/<str:streamId>/contacts", ContactIngestView.as_view(), name="qualityai-ingest"),
]
