"""The served WSGI handler resolves each path once, and answers exactly as Django's own."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from django.urls.resolvers import URLResolver

from analytics_api.server import wsgi_handler
from analytics_api.server.wsgi_handler import RouteCachingWSGIHandler


def _call(handler: RouteCachingWSGIHandler, path: str) -> tuple[str, bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = status

    body = b"".join(handler(RequestFactory().get(path).environ, start_response))
    return answer["status"], body


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = URLResolver.resolve

    def counting(self: URLResolver, path: str) -> Any:
        if self.pattern.regex.pattern == "^/":  # the root resolver: one per request resolved
            calls.append(path)
        return original(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counting)
    return calls


@pytest.mark.django_db
def test_a_path_is_resolved_once_and_answered_the_same_every_time(resolutions: list[str]) -> None:
    handler = RouteCachingWSGIHandler()

    first, second = _call(handler, "/"), _call(handler, "/")

    assert first == second
    assert first[0] == "200 OK"
    assert resolutions == ["/"]


@pytest.mark.django_db
def test_an_unknown_path_is_not_kept_and_stays_404(resolutions: list[str]) -> None:
    handler = RouteCachingWSGIHandler()

    statuses = [_call(handler, "/no/such/page")[0] for _ in range(2)]

    assert statuses == ["404 Not Found"] * 2
    assert resolutions == ["/no/such/page"] * 2
    assert handler._resolved == {}


@pytest.mark.django_db
def test_the_remembered_routes_are_forgotten_all_at_once_past_the_cap(
    resolutions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wsgi_handler, "RESOLVED_MAX_ENTRIES", 2)
    handler = RouteCachingWSGIHandler()

    for path in ("/", "/api/health", "/metrics", "/"):
        _call(handler, path)

    # The third path found the cache full: it was emptied, so "/" was resolved again.
    assert resolutions == ["/", "/api/health", "/metrics", "/"]
    assert len(handler._resolved) == 2
