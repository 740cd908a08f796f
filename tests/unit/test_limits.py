"""Hostile rows cannot take unbounded memory: a row (or a field) over ``MAX_ROW_CHARS`` is a malformed
row, and the reader never holds it. Peak memory is measured with tracemalloc on the single-process path
the Lambda function uses (``Verification(...).batches()``, no workers), on streams generated as they
are read (the test holds nothing of them either).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from listguard.verification import Verdict, Verification
from listguard.verification.reader import MAX_ROW_CHARS

MB = 1_000_000
HOSTILE_BYTES = 24 * MB
#: Peak memory allowed for checking one hostile file: a few read blocks' worth, far below the file.
PEAK_LIMIT_BYTES = 16 * MB


class GeneratedStream:
    """``head``, then ``fill`` repeated up to ``size`` bytes, then ``tail``: made as it is read."""

    def __init__(self, head: bytes, fill: bytes, size: int, tail: bytes) -> None:
        self._parts = self._generate(head, fill, size, tail)
        self._buffer = b""

    @staticmethod
    def _generate(head: bytes, fill: bytes, size: int, tail: bytes) -> Iterator[bytes]:
        yield head
        chunk = fill * (64 * 1024 // len(fill) + 1)
        for _ in range(size // len(chunk)):
            yield chunk
        yield tail

    def read(self, size: int = -1, /) -> bytes:
        while len(self._buffer) < size:
            part = next(self._parts, None)
            if part is None:
                break
            self._buffer += part
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def check(stream: GeneratedStream) -> tuple[list[tuple[int, Verdict, str]], int]:
    """Every row's (number, verdict, reason), and the peak memory (bytes) of the check, report included."""
    tracemalloc.start()
    try:
        verification = Verification(stream, policy=None)
        rows = []
        report_chars = 0
        for batch in verification.batches():
            report_chars += len(batch.report_csv())
            rows += [
                (row.row, row.verdict, row.reason) for row in batch if row.verdict != Verdict.INVALID_SYNTAX
            ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report_chars > 0
    return rows, peak


HEAD = b"email,name\nann@example.com,Ann\n"
TAIL = b"\nbob@example.com,Bob\n"


@pytest.mark.parametrize(
    ("fill", "what"),
    [
        (b"x,", "one row of 12 million fields"),
        (b"x" * 1000 + b"\n", "a quoted field that never closes, over 24,000 lines"),
        (b"x", "a quoted field that never closes, on one line"),
    ],
)
def test_a_hostile_row_is_one_malformed_row_in_bounded_memory(fill: bytes, what: str) -> None:
    # Given a good row, then 24 MB of a hostile row, then a good row
    head = HEAD + (b'carl@example.com,"' if what.startswith("a quoted") else b"carl@example.com,")
    stream = GeneratedStream(head, fill, HOSTILE_BYTES, TAIL)
    # When the file is checked in one process (as in Lambda)
    rows, peak = check(stream)
    # Then the hostile row is one malformed row whose reason names the limit, the good rows are read,
    # (the lines of a quote that never closes are read as rows again: not addresses, so left out here)
    assert rows[0] == (1, Verdict.VALID, "")
    assert rows[1][:2] == (2, Verdict.MALFORMED_ROW)
    assert f"{MAX_ROW_CHARS:,} characters" in rows[1][2]
    assert rows[-1][1] == Verdict.VALID and rows[-1][0] > 2
    assert len(rows) == 3
    # And memory stays far below the row's size
    assert peak < PEAK_LIMIT_BYTES, f"{what}: peak {peak / MB:.1f} MB"


def test_a_long_blank_line_is_skipped_in_bounded_memory() -> None:
    # Given 24 MB of separators on one line (a blank line, whatever its length)
    stream = GeneratedStream(HEAD, b",", HOSTILE_BYTES, TAIL)
    # When the file is checked / Then the line is skipped as blank lines are, in bounded memory
    rows, peak = check(stream)
    assert [(number, verdict) for number, verdict, _ in rows] == [(1, Verdict.VALID), (2, Verdict.VALID)]
    assert peak < PEAK_LIMIT_BYTES
