"""JSON parsing that turns every malformed body into a 400, however it is malformed."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The decoder recurses per nesting level: thousands of "[" exhaust the stack.
            raise ParseError("JSON nested too deeply.") from None
