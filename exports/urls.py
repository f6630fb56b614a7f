from __future__ import annotations

from django.urls import path

from exports import views

urlpatterns = [
    path("api/v1/exports", views.ExportsView.as_view(), name="exports"),
    path("api/v1/exports/<str:exportId>", views.ExportDetailView.as_view(), name="export-detail"),
    path("api/v1/exports/<str:exportId>/files/<str:n>", views.ExportFileView.as_view(), name="export-file"),
]
