"""The admin and the recordings URLs alone, so the admin tests do not depend on other apps' routes."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("recordings.urls")),
]
