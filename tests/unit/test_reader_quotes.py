"""Quotes, by the csv module's rules, at the reader level: block cutting, stray quotes, open fields.

The reference is ``csv.reader`` (non-strict) over the whole text, blank records dropped: a quote
opens a quoted field only at the start of a field; elsewhere it is a literal character.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from listguard.verification import UnusableFileError, Verdict, Verification, reader
from listguard.verification.reader import SEPARATORS, CsvStream, Records


def expected_records(text: str, sep: str) -> list[list[str]]:
    """What the csv module reads from ``text``, blank records dropped (the reader's contract)."""
    return [r for r in csv.reader(io.StringIO(text), delimiter=sep) if "".join(r).strip()]


@contextmanager
def tiny_blocks(*, read: int = 7, sniff: int = 5, max_row: int | None = None) -> Iterator[None]:
    """Reads of a few bytes, so that short texts are cut into many blocks (and a smaller row limit)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "READ_BLOCK_BYTES", read)
        patch.setattr(reader, "SNIFF_BYTES", sniff)
        if max_row is not None:
            patch.setattr(reader, "MAX_ROW_CHARS", max_row)
        yield


def stream(text: str) -> tuple[CsvStream, list[str]]:
    """The stream over ``text`` (UTF-8) and its blocks."""
    csv_stream = CsvStream(io.BytesIO(text.encode()), max_bytes=1 << 30)
    return csv_stream, list(csv_stream.text_blocks())


def stream_records(csv_stream: CsvStream, blocks: list[str]) -> list[list[str]]:
    return [record for block in blocks for record in csv_stream.records(block).fields]


def run(data: bytes) -> list[tuple[str, list[str], Verdict]]:
    verification = Verification(io.BytesIO(data))
    return [(r.email, r.fields, r.verdict) for batch in verification.batches() for r in batch]


# -- a stray quote does not hold the rest of the file ---------------------------------------------


def test_stray_quote_mid_field_does_not_stop_the_block_cutting() -> None:
    # Given a file with one stray quote in the middle of a name (a literal character for csv)
    rows = [f"user{i}@example.com,Name{i}\n" for i in range(3000)]
    rows[5] = 'anna@example.com,O"Anna\n'
    text = "email,name\n" + "".join(rows)
    # When it is read in blocks of about 1,000 bytes
    with tiny_blocks(read=1000, sniff=500):
        csv_stream, blocks = stream(text)
    # Then the blocks stay small (they used to run to the end of the file), and the records are right
    assert len(blocks) > 50
    assert max(map(len, blocks)) < 2000
    assert stream_records(csv_stream, blocks) == expected_records(text, ",")


def test_stray_quote_then_quoted_newline_across_a_read_boundary() -> None:
    # Given a stray quote (even count of quotes up to the newline) and then a quoted field with a
    # newline: the simple parity says "outside" at that newline, but it is inside the quoted field
    text = 'email,name\nann@example.com,O"Anna,"line one\nline two"\nbob@example.com,Bob\n' * 20
    for read in range(3, 40):
        with tiny_blocks(read=read, sniff=read):
            csv_stream, blocks = stream(text)
        # Then every block ends outside quoted fields, and the records are the csv module's
        assert stream_records(csv_stream, blocks) == expected_records(text, ","), read


def records_and_overlong(csv_stream: CsvStream, blocks: list[str]) -> tuple[list[list[str]], list[int]]:
    """Every record's fields, and the numbers (across blocks) of the records over the row limit."""
    fields: list[list[str]] = []
    overlong: list[int] = []
    for block in blocks:
        records = csv_stream.records(block)
        overlong += [len(fields) + number for number in records.overlong]
        fields += records.fields
    return fields, overlong


def test_quoted_field_open_past_the_row_limit_is_one_malformed_row() -> None:
    # Given a quoted field that never closes, followed by 50 KB of rows
    head = 'email,notes\nann@example.com,"never closes\n'
    rest = "".join(f"user{i}@example.com,x\n" for i in range(2500))
    # When it is read with a row limit of 5,000 characters
    with tiny_blocks(read=1000, sniff=1000, max_row=5000):
        csv_stream, blocks = stream(head + rest)
        fields, overlong = records_and_overlong(csv_stream, blocks)
    # Then no block grows much past the limit ...
    assert max(map(len, blocks)) <= 5000 + 1000
    # ... the open record is one record over the limit, without fields, and the quote is taken for a
    # stray one: the rows after its line are read as records again
    assert fields[:2] == [["email", "notes"], []]
    assert overlong == [1]
    assert fields[2:] == expected_records(rest, ",")


def test_row_limit_is_exact() -> None:
    # Given rows of exactly the limit and one character more, on one line or over two (quoted)
    at_limit = "a@example.com," + "x" * (5000 - len("a@example.com,"))
    two_lines = 'b@example.com,"' + "y" * 2000 + "\n" + "y" * (5000 - 2017) + '"'
    text = f'email,notes\n{at_limit}\n{at_limit}x\n{two_lines}\n{two_lines[:-1]}y"\nc@example.com,z\n'
    assert (len(at_limit), len(two_lines)) == (5000, 5000)
    # When it is read, in blocks of every size
    for read in (100, 1000, 100_000):
        with tiny_blocks(read=read, sniff=read, max_row=5000):
            csv_stream, blocks = stream(text)
            fields, overlong = records_and_overlong(csv_stream, blocks)
        # Then rows up to the limit are read whole, longer ones have no fields
        assert [len(record) for record in fields] == [2, 2, 0, 2, 0, 2], read
        assert overlong == [2, 4]
        assert fields[1][1] == at_limit[len("a@example.com,") :]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("read", [1000, 300_000])
def test_one_line_over_the_limit_is_never_held(line_end: str, read: int) -> None:
    # Given a row of 100,000 empty fields and an "x" in each (200 KB without a line break), and a
    # line of 200,000 separators (a blank line), between good rows
    rows = [
        "email,name",
        "ann@example.com,Ann",
        "x," * 100_000,
        "bob@example.com,Bob",
        "," * 200_000,
        "c@x.io,C",
    ]
    text = line_end.join(rows) + line_end
    # When it is read in blocks of 1,000 bytes (or all at once), with a row limit of 5,000
    with tiny_blocks(read=read, sniff=read, max_row=5000):
        csv_stream, blocks = stream(text)
        fields, overlong = records_and_overlong(csv_stream, blocks)
    # Then no block holds it when the reads are small ...
    if read < 5000:
        assert max(map(len, blocks)) <= 5000 + read
    # ... the row is one record over the limit, and the blank line is skipped as blank lines are
    assert fields == [
        ["email", "name"],
        ["ann@example.com", "Ann"],
        [],
        ["bob@example.com", "Bob"],
        ["c@x.io", "C"],
    ]
    assert overlong == [2]


def test_genuine_quoted_newlines_under_the_row_limit_stay_whole() -> None:
    # Given a quoted field of 3,000 characters with newlines, read 100 bytes at a time
    notes = "line\n" * 600
    text = f'email,notes\nann@example.com,"{notes}"\nbob@example.com,x\n'
    with tiny_blocks(read=100, sniff=100, max_row=5000):
        csv_stream, blocks = stream(text)
    # Then it is one record
    assert stream_records(csv_stream, blocks) == [
        ["email", "notes"],
        ["ann@example.com", notes],
        ["bob@example.com", "x"],
    ]


# -- quoted fields left open on a line with an even number of quotes ------------------------------


def test_even_quotes_with_a_field_left_open_no_internal_error() -> None:
    # Given lines with two quotes each, a literal one and one that opens a field that does not
    # close on its line (this raised "ValueError: zip() argument 2 is shorter")
    text = 'name,email\nx"y,"a@example.com\np"q,"b@example.com\nq,c@example.com\n'
    # When the block is parsed / Then it is what the csv module reads
    assert Records(text, ",").fields == expected_records(text, ",")
    # And the file is verified without an error: the open field takes in the following lines
    rows = run(text.encode())
    assert [fields for _, fields, _ in rows] == expected_records(text, ",")[1:]


@pytest.mark.parametrize(
    "text",
    [
        'a,"b"c\nd,e\n',  # a stray character after a closing quote (an error in strict mode)
        'a,"b""\nc"\n',  # a doubled quote, then the field goes on on the next line
        'a,"\n\n",b\nc,d\n',  # a blank line inside a quoted field is part of the field
        'a,"x"\n,,\n"",""\n"y\n" , \nz\n',  # blank records, and one that spans lines
        'a"b\n"c\n"\nd\n',  # a literal quote, then a quoted field with a newline
    ],
)
def test_records_are_the_csv_modules(text: str) -> None:
    assert Records(text, ",").fields == expected_records(text, ",")


# -- the property: the reader reads what the csv module reads -------------------------------------


def _quoted(content: str) -> str:
    return '"' + content.replace('"', '""') + '"'


@st.composite
def csv_texts(draw: st.DrawFn) -> tuple[str, str]:
    """(text, separator): either random characters or rows of plain and quoted fields."""
    sep = draw(st.sampled_from(SEPARATORS))
    other = draw(st.sampled_from(SEPARATORS))
    alphabet = 'a@. x"\n' + sep + other
    if draw(st.booleans()):
        return draw(st.text(alphabet=alphabet, max_size=120)), sep
    plain = st.text(alphabet=alphabet.replace('"', "").replace("\n", "").replace(sep, ""), max_size=6)
    stray = st.text(alphabet='a"', min_size=2, max_size=4).map(lambda s: "a" + s)  # a literal quote
    quoted = st.text(alphabet=alphabet, max_size=8).map(_quoted)
    row = st.lists(st.one_of(plain, stray, quoted), min_size=1, max_size=4).map(sep.join)
    rows = draw(st.lists(row, min_size=1, max_size=12))
    return "".join(r + "\n" for r in rows) + draw(st.sampled_from(["", 'x"', '"open', "last"])), sep


@given(csv_texts())
@example(('a"b,"c\nd"\ne\n', ","))
@example(('name,email\nx"y,"a@example.com\np"q,"b@example.com\nq,c@example.com\n', ","))
def test_records_equal_the_csv_module(case: tuple[str, str]) -> None:
    # Given any text and separator, parsed as one block
    text, sep = case
    records = Records(text, sep)
    expected = expected_records(text, sep)
    # Then the records, and every way of asking for them, are the csv module's
    assert records.fields == expected
    again = Records(text, sep)
    counts = again.field_counts()
    assert counts == [len(r) for r in expected]
    assert [again.record(i) for i in range(len(again))] == expected
    for index in (0, 1):
        assert Records(text, sep).column(index, counts) == [
            r[index].strip() if len(r) > index else "" for r in expected
        ]
    assert Records(text, sep).without_first().fields == expected[1:]


@given(csv_texts(), st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=12))
@example(('a"b,"c\nd"\ne\n', ","), 3, 3)
def test_stream_records_equal_the_csv_module(case: tuple[str, str], read: int, sniff: int) -> None:
    # Given any text, read a few bytes at a time (many blocks, cut at many places)
    text, _ = case
    with tiny_blocks(read=read, sniff=sniff):
        if not text.strip():
            with pytest.raises(UnusableFileError):
                stream(text)
            return
        csv_stream, blocks = stream(text)
    # Then the blocks are the text (but for leading blank lines), and their records are what the
    # csv module reads from the whole text with the separator detected
    joined = "".join(blocks)
    assert text.endswith(joined)
    assert not text[: len(text) - len(joined)].strip()
    assert stream_records(csv_stream, blocks) == expected_records(text, csv_stream.separator)
