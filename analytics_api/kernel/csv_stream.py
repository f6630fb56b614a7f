"""CSV downloads: streamed row by row, and safe to open in a spreadsheet (docs/contract.md#csv-downloads).

A cell that a spreadsheet would take for a formula (text starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is written with a leading apostrophe, as OWASP advises against CSV
injection: the text stays readable and is never evaluated. Numbers are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

from analytics_api.kernel.fields import json_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: empty for None, true/false, JSON text for lists and objects, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = json_text(value) if isinstance(value, list | dict) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object that hands back what csv.writer writes (one line at a time)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment named ``filename``."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CSV_MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
