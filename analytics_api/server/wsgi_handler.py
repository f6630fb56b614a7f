"""The WSGI handler gunicorn serves (``analytics_api.wsgi``): Django's, with resolved routes remembered.

Django resolves every request's path by trying the URL patterns in order, includes with empty
prefixes one after the other: tens of pattern matches per request, a measurable part of a small
request's cost (BENCHMARKS.md, request overhead). The URL configuration does not change while a
process runs, so a path resolves to the same view and arguments every time: the handler keeps
each path's match, at most ``RESOLVED_MAX_ENTRIES`` of them (all forgotten at once past that, so
ids in paths cannot grow it without bound). Paths that match nothing are not kept: their 404 is
resolved again each time, as before.
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import get_resolver, set_urlconf
from django.urls.resolvers import ResolverMatch

RESOLVED_MAX_ENTRIES = 4096


class RouteCachingWSGIHandler(WSGIHandler):
    """``WSGIHandler`` whose ``resolve_request`` remembers each path's ``ResolverMatch``.

    Keyed by the resolver too: a request with its own ``urlconf`` (none here, but middleware may
    set one), or settings naming another ``ROOT_URLCONF`` (tests), never sees another one's match.
    The match is shared by the requests of that path: read it, never change it (Django and DRF
    only read it; views get copies of its arguments).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: dict[tuple[Any, str], ResolverMatch] = {}

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        if hasattr(request, "urlconf"):
            set_urlconf(request.urlconf)
            resolver = get_resolver(request.urlconf)
        else:
            resolver = get_resolver()
        key = (resolver, request.path_info)
        match = self._resolved.get(key)
        if match is None:
            match = resolver.resolve(request.path_info)  # Resolver404 for an unknown path: not kept
            if len(self._resolved) >= RESOLVED_MAX_ENTRIES:
                self._resolved.clear()
            self._resolved[key] = match
        request.resolver_match = match
        return match
