"""Fixtures of the project-package tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def probe(settings: Any) -> None:
    """Serve the probe views (tests/analytics_api/probe_urls.py): endpoints that raise on purpose."""
    settings.ROOT_URLCONF = "tests.analytics_api.probe_urls"
