"""Django's session, CSRF, user and message middleware, run for the admin's pages only.

Kept apart from ``analytics_api.middleware``, which the logging configuration imports before the
apps are ready (these import models).
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from analytics_api.middleware import ADMIN_PREFIX, Handler


class _AdminOnly:
    """Runs a Django middleware for the admin's pages only.

    Sessions, CSRF, users and messages serve the admin's login and forms. The API authenticates by
    token and sets no cookie, the documentation pages and the landing page only read: their requests
    skip the work (a session lookup set up, a CSRF cookie checked, two lazy objects made) on every
    call.
    """

    get_response: Handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(ADMIN_PREFIX):
            return super().__call__(request)  # type: ignore[misc]
        return self.get_response(request)


class AdminSessionMiddleware(_AdminOnly, SessionMiddleware):
    pass


class AdminCsrfViewMiddleware(_AdminOnly, CsrfViewMiddleware):
    def process_view(self, request: HttpRequest, *args: object) -> HttpResponse | None:
        if not request.path_info.startswith(ADMIN_PREFIX):
            return None
        return super().process_view(request, *args)  # type: ignore[arg-type]


class AdminAuthenticationMiddleware(_AdminOnly, AuthenticationMiddleware):
    pass


class AdminMessageMiddleware(_AdminOnly, MessageMiddleware):
    pass
