"""Whose search history: the API client and, when sent, the ``X-Acting-User`` header (docs/search.md#history)."""

from __future__ import annotations

from rest_framework.request import Request

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.text import has_control_characters
from analytics_api.models import ApiClient

ACTING_USER_HEADER = "X-Acting-User"
ACTING_USER_MAX = 128
ACTING_USER_MESSAGE = (
    f"{ACTING_USER_HEADER} must be at most {ACTING_USER_MAX} characters of text (the person acting through "
    "this API client), without control characters."
)


def request_searcher(request: Request) -> tuple[ApiClient, str]:
    """The caller's API client and acting user ('' when the header is absent); a bad header is 400."""
    acting = request.headers.get(ACTING_USER_HEADER, "").strip()
    if len(acting) > ACTING_USER_MAX or has_control_characters(acting):
        raise ApiError(ACTING_USER_MESSAGE, code="invalid", field=ACTING_USER_HEADER)
    return request.user.client, acting
