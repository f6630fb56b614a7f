"""CSV: the one line encoder (downloads and export files), and downloads streamed row by row that are
safe to open in a spreadsheet (docs/contract.md#csv-downloads).

A download's cell that a spreadsheet would take for a formula (text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is written with a leading apostrophe, as OWASP advises
against CSV injection: the text stays readable and is never evaluated. Numbers are written as they
are. Export files keep every cell exactly as the record has it (docs/contract.md#export-formats).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

from analytics_api.kernel.fields import json_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def csv_cell(value: Any) -> str:
    """A value as a download's CSV cell: empty for None, true/false, numbers as they are, JSON text for
    lists and objects, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = json_text(value) if isinstance(value, list | dict) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _quoted(cell: str) -> str:
    if '"' in cell or "," in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_line(cells: Sequence[str | None]) -> str:
    """One CSV record, ending in CRLF, exactly as the standard library's ``csv.writer`` writes it with
    its defaults (RFC 4180): a cell holding a comma, a double quote, CR or LF is quoted, its quotes
    doubled; None is an empty cell; a record of one empty cell is ``""``, not an empty line.

    Not ``csv.writer`` itself: it copies every character of a cell one by one, which for records
    carrying a JSON text of a few KB (an export's ``record`` column) took most of a CSV export's
    time (BENCHMARKS.md, Exports).
    """
    if len(cells) == 1 and not cells[0]:
        return '""\r\n'
    return ",".join(["" if cell is None else _quoted(cell) for cell in cells]) + "\r\n"


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    yield csv_line(header)
    for row in rows:
        yield csv_line([csv_cell(value) for value in row])


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment named ``filename``."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CSV_MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
