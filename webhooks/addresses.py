"""What a webhook address is: an ``http`` or ``https`` URL, at most ``MAX_URL_LENGTH`` characters,
without control characters. Whether its host may be reached is decided at each attempt
(:mod:`webhooks.sending`), as for recording sources."""

from __future__ import annotations

from typing import Any

from analytics_api.kernel.text import has_control_characters
from analytics_api.kernel.validation import Invalid, invalid, text
from recordings.source_rules import MAX_URL_LENGTH

WEBHOOK_SCHEMES = ("http://", "https://")
NOT_AN_ADDRESS = "A webhook URL must be an http or https address."
CONTROL_CHARACTERS = "A webhook URL may not contain control characters (such as CR, LF or tab); percent-encode them."

_URL_TEXT = text(allow_blank=False, trim=True, max_length=MAX_URL_LENGTH)


def webhook_url_check(data: Any) -> str:
    """The trimmed address, or :class:`Invalid` saying why it is not one."""
    value = _URL_TEXT(data)
    if not value.lower().startswith(WEBHOOK_SCHEMES):
        raise invalid(NOT_AN_ADDRESS)
    if has_control_characters(value):
        raise invalid(CONTROL_CHARACTERS)
    return value


def webhook_url_problem(data: Any) -> str | None:
    """Why ``data`` is not a webhook address (the first reason), or None."""
    try:
        webhook_url_check(data)
    except Invalid as error:
        return str(error.detail[0])
    return None
