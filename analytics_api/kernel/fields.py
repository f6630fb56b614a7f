"""A JSONField that encodes and decodes with orjson.

Documents of a few KB are read and written on every page and every ingestion batch; the standard
json module spends most of a page's time in them. orjson is several times faster and produces the
same values. Anything orjson refuses (integers beyond 64 bits, non-string keys) falls back to the
standard json module, so behaviour never changes — only speed.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform
from psycopg.types.json import Jsonb


def json_text(value: Any) -> str:
    """``value`` as JSON text: orjson when it can, the standard module otherwise."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


class FastJSONField(models.JSONField):
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, str) and self.decoder is None and not isinstance(expression, KeyTransform):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if self.encoder is not None:
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        if connection.vendor == "postgresql":
            return Jsonb(value, dumps=json_text)
        return json_text(value)
