"""The one CSV line encoder: what the standard library's csv.writer writes, byte for byte, and reads back."""

from __future__ import annotations

import csv
import io

import pytest

from analytics_api.kernel.csv_stream import csv_line

ROWS = [
    ["plain", "two words", "ünïcödé ✓", "1.5"],
    ["a,b", 'say "hi"', "line\nbreak", "carriage\rreturn", "crlf\r\nend"],
    ['{"sessionId":"s-1","tags":["a","b"],"text":"x, y"}', None, ""],
    [None, None],
    ["", ""],
    [" leading and trailing ", "\ttab", "'quote", '"'],
    [""],
    [None],
    ["only"],
    [],
]


def _standard(row: list[str | None]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(row)
    return out.getvalue()


@pytest.mark.parametrize("row", ROWS)
def test_a_line_is_what_the_standard_csv_writer_writes(row: list[str | None]) -> None:
    assert csv_line(row) == _standard(row)


def test_lines_read_back_as_their_cells() -> None:
    rows = [row for row in ROWS if row and row != [None]]

    read = list(csv.reader(io.StringIO("".join(csv_line(row) for row in rows), newline="")))

    assert read == [["" if cell is None else cell for cell in row] for row in rows]
