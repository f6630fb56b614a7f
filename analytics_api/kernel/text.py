"""Text the databases can store: no NUL character, no unpaired surrogate; and JSON they can store.

PostgreSQL refuses NUL in text and jsonb values, and neither database can encode a lone surrogate
(``"\\ud800"`` in JSON) as UTF-8: such a string reaching a query is a 500, so input is checked first.
Stored documents are encoded with orjson, which refuses integers beyond 64 bits and nesting deeper
than 255 levels: an ingested record is checked for those too (:func:`record_storage_errors`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import orjson

from analytics_api.kernel.errors import error_item

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Levels of objects and arrays a field of an ingested record may nest (the field's own value is
# level 1): far more than any real document, far below orjson's limit of 255 for the whole record.
MAX_JSON_DEPTH = 32
JSON_INT_MIN = -(2**63)
JSON_INT_MAX = 2**64 - 1
# A JSON string as orjson writes it (escapes included), and the bracket shape of what is left.
_BRACKETS = bytes.maketrans(b"[]{}", b"()()")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


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


def _nesting_at_most(encoded: bytes, depth: int) -> bool:
    """Whether the JSON text ``encoded`` nests objects and arrays at most ``depth`` levels deep.

    Strings are removed, every other byte but the brackets dropped, then innermost pairs ``()``
    removed ``depth`` times: all of it in C, much faster than walking the value in Python.

    Strings go without a regular expression (twice as fast on a transcript): first every escaped
    backslash (two backslashes, removed from the left as a parser reads them), then every escaped
    quote; each quote left then opens or closes a string, and the text outside strings is every
    other piece between quotes.
    """
    unquoted = encoded.replace(b"\\\\", b"").replace(b'\\"', b"")
    shape = b"".join(unquoted.split(b'"')[::2]).translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(depth):
        if not shape:
            return True
        shape = shape.replace(b"()", b"")
    return not shape


def record_storage_errors(record: dict[str, Any]) -> list[dict[str, str]]:
    """Envelope items for what in ``record`` (an ingested JSON object) no database could store.

    Each field may nest at most :data:`MAX_JSON_DEPTH` levels; integers must fit in 64 bits
    (orjson's range, ``JSON_INT_MIN`` to ``JSON_INT_MAX``); text must be storable (no NUL, no lone
    surrogate). A field nested too deep is named once, at the record's top level.

    1. Fast path: orjson encodes the record in C; without an error (a lone surrogate, an integer
       out of range, nesting beyond 255), an escaped NUL or nesting beyond the cap, all is well.
    2. Otherwise walk the record (iteratively: it may be nested as deep as the parser allows).
    """
    try:
        encoded = orjson.dumps(record)
    except (orjson.JSONEncodeError, TypeError):
        pass
    else:
        if b"\\u0000" not in encoded and _nesting_at_most(encoded, MAX_JSON_DEPTH + 1):
            return []
    errors: list[dict[str, str]] = []
    too_deep: set[str] = set()
    # (value, its name, the record's field it is in, its depth there, whether its own key is
    # unstorable), popped in document order.
    stack: list[tuple[Any, str, str, int, bool]] = [
        (value, str(key), str(key), 1, isinstance(key, str) and not is_storable(key))
        for key, value in reversed(record.items())
    ]
    while stack:
        item, name, top, depth, bad_key = stack.pop()
        if bad_key or (isinstance(item, str) and not is_storable(item)):
            errors.append(error_item(unstorable_message(_shown(name)), "invalid_characters", _shown(name)))
        elif item.__class__ is int and not JSON_INT_MIN <= item <= JSON_INT_MAX:
            errors.append(error_item(
                f"{_shown(name)} is an integer beyond 64 bits: send it as text, or a number from "
                f"{JSON_INT_MIN} to {JSON_INT_MAX}.",
                "number_out_of_range",
                _shown(name),
            ))
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            if top not in too_deep:
                too_deep.add(top)
                errors.append(error_item(
                    f"{_shown(top)} nests objects and arrays deeper than {MAX_JSON_DEPTH} levels.",
                    "too_deep",
                    _shown(top),
                ))
            continue
        if isinstance(item, dict):
            stack.extend(
                (child, f"{name}.{key}", top, depth + 1, isinstance(key, str) and not is_storable(key))
                for key, child in reversed(item.items())
            )
        else:
            stack.extend(
                (item[index], f"{name}[{index}]", top, depth + 1, False) for index in reversed(range(len(item)))
            )
    return errors
