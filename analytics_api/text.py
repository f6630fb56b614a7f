"""Text the databases can store: no NUL character, no unpaired surrogate.

PostgreSQL refuses NUL in text and jsonb values, and neither database can encode a lone surrogate
(``"\\ud800"`` in JSON) as UTF-8: such a string reaching a query is a 500, so input is checked first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import orjson

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def unstorable_message(field: str) -> str:
    return (
        f"{field} contains a character that cannot be stored: NUL (\\u0000) or an unpaired surrogate "
        "(\\ud800-\\udfff)."
    )


def _shown(name: str) -> str:
    # The name goes back in an error message: its own bad characters are written as escapes.
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)


def unstorable_fields(value: Any, field: str = "") -> list[str]:
    """The names (``metaInfo.caller``, ``Queues[2]``) of the strings and keys of a JSON value that
    cannot be stored, in document order; ``field`` prefixes them.

    1. Fast path: orjson encodes the value in C; without an encoding error (lone surrogate) and
       without an escaped NUL in the output there is nothing to find.
    2. Otherwise walk the value (iteratively: it may be nested as deep as the parser allows).
    """
    try:
        if b"\\u0000" not in orjson.dumps(value):
            return []
    except (orjson.JSONEncodeError, TypeError):
        pass  # a lone surrogate, or an integer orjson cannot encode: look closer
    found: list[str] = []
    # (value, its name, whether its own key is unstorable); popped in document order.
    stack: list[tuple[Any, str, bool]] = [(value, field, False)]
    while stack:
        item, name, bad_key = stack.pop()
        if bad_key or (isinstance(item, str) and not is_storable(item)):
            found.append(_shown(name))
        if isinstance(item, dict):
            stack.extend(
                (child, f"{name}.{key}" if name else str(key), isinstance(key, str) and not is_storable(key))
                for key, child in reversed(item.items())
            )
        elif isinstance(item, list):
            stack.extend((item[index], f"{name}[{index}]", False) for index in reversed(range(len(item))))
    return found


# Control (C0, DEL, C1), format (bidi overrides, zero-width) and line/paragraph separator characters:
# in a log line or an address they can forge lines, hide text or reorder what an operator reads.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def has_control_characters(text: str) -> bool:
    if text.isascii():
        return any(char < " " or char == "\x7f" for char in text)
    return any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in text)


def escape_control_characters(text: str) -> str:
    """``text`` with each control character written as a Python escape (``\\r``, ``\\x1b``, ``\\u2028``)."""
    if not has_control_characters(text):
        return text
    return "".join(
        repr(char)[1:-1] if unicodedata.category(char) in _CONTROL_CATEGORIES else char for char in text
    )
