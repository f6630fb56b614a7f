"""Production settings plus the two ceiling endpoints of the benchmark (``tools/bench/urls.py``)."""

from __future__ import annotations

from analytics_api.settings import *  # noqa: F403

ROOT_URLCONF = "tools.bench.urls"
