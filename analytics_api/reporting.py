"""Error reports (the DEBUG 500 page, error e-mails) that never show a credential.

Django's ``SafeExceptionReporterFilter`` hides settings and request headers by *name* (API, AUTH,
TOKEN, KEY, SECRET, PASS, SIGNATURE): ``DATABASE_URL``, ``REDIS_URL``, the cache ``LOCATION``, the
task broker's ``redis`` address and ``AWS_ENDPOINT_URL`` pass that test and carry their password in
the value (``scheme://user:password@host``). The filter here also masks the password of every
such address, at any depth of a setting, in the request's META (the development server copies the
environment into it) and in the traceback's local variables; the reporter masks what is left in
the rendered text (exception messages, object reprs), and the log formatters
(``analytics_api.logs``) do the same for log lines and the tracebacks they carry (a recording
source or an S3 endpoint may hold a password).
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute

# scheme://user:password@ — the password runs to the last "@" before the path; a user alone
# (scheme://user@host) is a name, not a secret, and is kept to help debugging.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)[^/?#\s]*@")

# Local variables hidden by name: narrower than the settings' pattern, so that a traceback still
# shows ``key``, ``api_client`` and the like.
_HIDDEN_VARIABLES = re.compile("PASS|SECRET|TOKEN|SIGNATURE|CREDENTIAL|AUTHORIZATION|COOKIE", re.I)


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` replaced by stars."""
    return _URL_PASSWORD.sub(rf"\g<head>{SUBSTITUTE}@", text)


def _mask_urls(value: Any, depth: int = 0) -> Any:
    """``value`` with URL passwords masked in its strings, through plain dicts, lists and tuples.

    The depth limit stops at a container that holds itself; deeper values are shown as they are.
    """
    if isinstance(value, str):
        return mask_url_credentials(value)
    if depth >= 8:
        return value
    if type(value) is dict:
        return {key: _mask_urls(item, depth + 1) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_mask_urls(item, depth + 1) for item in value)
    return value


class CredentialSafeReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus connection-URL passwords and credential names (see the module)."""

    hidden_settings = re.compile("API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|CREDENTIAL|PRIVATE|HTTP_COOKIE", re.I)

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Django recurses through dicts, lists and tuples by calling this method, so every
        # nested string is seen here.
        cleansed = super().cleanse_setting(key, value)
        return mask_url_credentials(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, SUBSTITUTE if _HIDDEN_VARIABLES.search(name) else _mask_urls(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class CredentialSafeExceptionReporter(ExceptionReporter):
    """Masks connection-URL passwords that reach the report's text another way (messages, reprs)."""

    def get_traceback_html(self) -> str:
        return mask_url_credentials(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return mask_url_credentials(super().get_traceback_text())
