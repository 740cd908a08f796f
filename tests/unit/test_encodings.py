"""Mixed encodings: a file is UTF-8 line by line; only a line that is not valid UTF-8 is read as
Windows-1252, and such lines are counted in the report.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from listguard.verification import RowResult, Verdict, Verification, reader
from listguard.verification.reader import READ_BLOCK_BYTES, SNIFF_BYTES, CsvStream


def run(data: bytes) -> tuple[Verification, list[RowResult]]:
    verification = Verification(io.BytesIO(data))
    return verification, [row for batch in verification.batches() for row in batch]


def plain_rows(count: int) -> bytes:
    return b"".join(f"user{i}@example.com,Name{i}\n".encode() for i in range(count))


@contextmanager
def tiny_reads(read: int) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "READ_BLOCK_BYTES", read)
        patch.setattr(reader, "SNIFF_BYTES", read)
        yield


def test_utf8_file_with_one_stray_windows_1252_byte_stays_utf8() -> None:
    # Given a UTF-8 file with josé's address, and one line where a tool wrote "é" as Windows-1252
    data = "email,name\njosé@example.com,José\n".encode() + b"ann@example.com,Ren\xe9e\n"
    # When it is verified
    verification, rows = run(data)
    # Then the file is read as UTF-8 (josé stays josé), the offending line as Windows-1252, and counted
    assert verification.encoding == "utf-8"
    assert [(r.email, r.fields[1], r.verdict) for r in rows] == [
        ("josé@example.com", "José", Verdict.VALID),
        ("ann@example.com", "Renée", Verdict.VALID),
    ]
    report = verification.report()
    assert (report.encoding, report.windows_1252_lines) == ("utf-8", 1)


@pytest.mark.parametrize(
    "offset",
    [SNIFF_BYTES - 5, SNIFF_BYTES, SNIFF_BYTES + READ_BLOCK_BYTES - 3, SNIFF_BYTES + READ_BLOCK_BYTES + 2],
    ids=["before-64KiB", "at-64KiB", "before-1MiB-block", "after-1MiB-block"],
)
@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "lone-cr"])
def test_stray_byte_near_a_read_boundary(offset: int, line_end: bytes) -> None:
    # Given a UTF-8 file of more than 1 MiB, a name in UTF-8 first, and a stray byte near a read boundary
    head = b"email,name\n" + "zoe@example.com,Zoë\n".encode()
    rows = head + plain_rows(60_000)
    at = rows.index(b"\n", offset) + 1  # the start of the line after ``offset``
    data = (rows[:at] + b"stray@example.com,Caf\xe9\n" + rows[at:]).replace(b"\n", line_end)
    # When it is verified
    verification, results = run(data)
    # Then only that line falls back; every row is read right
    assert (verification.encoding, verification.report().windows_1252_lines) == ("utf-8", 1)
    assert results[0].fields[1] == "Zoë"
    stray = [r for r in results if r.email == "stray@example.com"]
    assert [r.fields[1] for r in stray] == ["Café"]
    assert len(results) == 60_002
    assert {r.verdict for r in results} == {Verdict.VALID}


def test_windows_1252_file_is_windows_1252() -> None:
    # Given a file written by an old Windows tool: every accent is Windows-1252
    data = "email,name\nzoe@example.com,Zoë\nmax@example.com,Müller\nsam@example.com,Sam\n".encode("cp1252")
    # When it is verified
    verification, rows = run(data)
    # Then the file is Windows-1252, and its lines with accents are the ones read that way
    assert [r.fields[1] for r in rows] == ["Zoë", "Müller", "Sam"]
    assert (verification.encoding, verification.report().windows_1252_lines) == ("windows-1252", 2)


def test_utf8_bom_file_with_a_stray_byte() -> None:
    data = codecs.BOM_UTF8 + "email,name\nzoe@example.com,Zoë\n".encode() + b"ann@example.com,Ren\xe9e\n"
    verification, rows = run(data)
    assert [r.fields[1] for r in rows] == ["Zoë", "Renée"]
    assert (verification.encoding, verification.report().windows_1252_lines) == ("utf-8-sig", 1)


def test_a_line_that_mixes_both_is_windows_1252_whole() -> None:
    # Given one line with a UTF-8 "ë" and a Windows-1252 "é": it is not valid UTF-8
    data = b"email,name\n" + "zoë@example.com,".encode() + b"Ren\xe9e\n"
    # When it is verified / Then the whole line is read as Windows-1252 (the address cell too)
    verification, rows = run(data)
    assert rows[0].email == "zoÃ«@example.com"
    assert verification.report().windows_1252_lines == 1


def test_utf16_has_no_fallback_lines() -> None:
    data = codecs.BOM_UTF16_LE + "email,name\nzoe@example.com,Zoë\n".encode("utf-16-le")
    verification, rows = run(data)
    assert rows[0].fields[1] == "Zoë"
    assert (verification.encoding, verification.report().windows_1252_lines) == ("utf-16-le", 0)


# -- the property: each line decodes on its own, whatever the reads -------------------------------

line_texts = st.text(alphabet=st.sampled_from("ab@.,éüë€Ã©\u00a0 "), max_size=12)
encoded_lines = st.tuples(line_texts, st.sampled_from(["utf-8", "cp1252"])).map(
    lambda pair: pair[0].encode(pair[1], errors="replace")
)


def decoded_line(line: bytes) -> tuple[str, bool]:
    """The rule: UTF-8 if the line is valid UTF-8, else Windows-1252 (and it counts)."""
    try:
        return line.decode("utf-8"), False
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace"), True


@given(st.lists(encoded_lines, min_size=1, max_size=15), st.integers(min_value=1, max_value=9))
@example([b"x\xe9", "ë".encode(), b"\xc3"], 1)
def test_lines_decode_on_their_own_whatever_the_reads(lines: list[bytes], read: int) -> None:
    # Given lines, each UTF-8 or Windows-1252, after a header (so that the file is never blank)
    data = b"email\n" + b"".join(line + b"\n" for line in lines)
    # When the file is read a few bytes at a time
    with tiny_reads(read):
        csv_stream = CsvStream(io.BytesIO(data), max_bytes=1 << 20)
        text = "".join(csv_stream.text_blocks())
    # Then every line is decoded by the rule, and the fallback lines are counted
    expected = [decoded_line(line) for line in lines]
    assert text == "email\n" + "".join(line + "\n" for line, _ in expected)
    assert csv_stream.windows_1252_lines == sum(fallback for _, fallback in expected)
