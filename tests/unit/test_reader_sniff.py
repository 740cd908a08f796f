"""Sniffing a file: the separator over the first lines, Excel's "sep=" line, a DOS end-of-file mark,
bytes that do not decode.
"""

from __future__ import annotations

import codecs
import io

import pytest

from listguard.verification import RowResult, UnusableFileError, Verdict, Verification
from listguard.verification.reader import SNIFF_BYTES, CsvStream


def run(data: bytes) -> tuple[Verification, list[RowResult]]:
    verification = Verification(io.BytesIO(data))
    return verification, [row for batch in verification.batches() for row in batch]


def rows_of(count: int, sep: str = ",") -> str:
    return "".join(f"user{i}@example.com{sep}Name{i}\n" for i in range(count))


# -- the separator ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        pytest.param(
            "Email;Name, First\nann@example.com;Ann\nbob@example.com;Bob\n", ";", id="comma-in-name"
        ),
        pytest.param("Email|Notes, misc; x\nann@example.com|a\nbob@example.com|b\n", "|", id="pipe"),
        pytest.param('"Last, First";Email\nLee;ann@example.com\nBo;bob@example.com\n', ";", id="quoted"),
        pytest.param("email\tname,x,y\nann@example.com\tAnn\nbob@example.com\tBob\n", "\t", id="tab"),
        pytest.param(
            "email,name,city\nann@example.com,Ann,Paris,,\nbob@example.com,Bob,Rome,\n", ",", id="trailing"
        ),
        pytest.param("email,name;x\nann@example.com,Ann;x\n", ",", id="true-tie"),
        pytest.param("email;name,x\nann@example.com;Ann,x\n", ",", id="true-tie-comma-wins"),
        pytest.param("email;name;x,y\nann@example.com;Ann;x,y\n", ";", id="more-fields-wins"),
        pytest.param("email;name,x\n", ",", id="header-only-tie"),
    ],
)
def test_separator_scored_over_the_first_lines(text: str, sep: str) -> None:
    # Given a header that holds more than one candidate separator
    csv_stream = CsvStream(io.BytesIO(text.encode()), max_bytes=1 << 20)
    # Then the separator is the one present on the header that splits the rows consistently
    # (comma on a true tie)
    assert csv_stream.separator == sep


def test_comma_in_a_semicolon_header_finds_the_email_column() -> None:
    # Given a semicolon file whose header has a comma in a column name (this failed with
    # "no email column", read as comma-separated)
    text = "Email;Name, First\n" + rows_of(30, ";")
    # When it is verified
    verification, rows = run(text.encode())
    # Then the email column is found and every row is valid
    assert verification.separator == ";"
    assert verification.email_column == "Email"
    assert verification.header == ["Email", "Name, First"]
    assert len(rows) == 30
    assert {r.verdict for r in rows} == {Verdict.VALID}


def test_the_header_decides_when_every_row_holds_commas_too() -> None:
    # Given a semicolon file whose header and every row also hold a comma (the rows score a tie)
    data = b"Email;Name, First\nann@x.com;Ann, A\nbob@y.com;Bob, B\n"
    # When it is verified
    verification, rows = run(data)
    # Then the separator that shows an email column in the header wins
    assert (verification.separator, verification.email_column) == (";", "Email")
    assert [row.verdict for row in rows] == [Verdict.VALID, Verdict.VALID]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_excel_sep_line_names_the_separator_and_is_not_the_header(sep: str, newline: str) -> None:
    # Given Excel's first line "sep=;" before the header, with other candidates in the header
    others = ",;|".replace(sep, "")
    text = f"sep={sep}{newline}email{sep}name {others}{newline}ann@example.com{sep}Ann{newline}"
    # When it is verified
    verification, rows = run(text.encode())
    # Then that separator is used, and the header is the next line
    assert verification.separator == sep
    assert verification.header == ["email", f"name {others}"]
    assert [(r.row, r.email, r.verdict) for r in rows] == [(1, "ann@example.com", Verdict.VALID)]


def test_sep_line_is_case_insensitive_and_may_be_quoted() -> None:
    verification, rows = run(b'"SEP=;"\nemail;name\nann@example.com;Ann\n')
    assert verification.separator == ";"
    assert [r.fields for r in rows] == [["ann@example.com", "Ann"]]


# -- a DOS end-of-file mark -----------------------------------------------------------------------


@pytest.mark.parametrize("end", [b"\x1a", b"\x1a\x1a", b"\r\n\x1a"], ids=["ctrl-z", "two", "after-crlf"])
@pytest.mark.parametrize("size", ["small", "large"])
def test_dos_end_of_file_mark_is_stripped(end: bytes, size: str) -> None:
    # Given a file that ends with Ctrl-Z (small: inside the sniffed bytes; large: well past them)
    count = 3 if size == "small" else 2 * SNIFF_BYTES // 20
    data = ("email,name\n" + rows_of(count)).encode().rstrip(b"\n") + end
    # When it is verified / Then it is no binary file, and the mark is no row
    _, rows = run(data)
    assert len(rows) == count
    assert {r.verdict for r in rows} == {Verdict.VALID}
    assert rows[-1].fields == [f"user{count - 1}@example.com", f"Name{count - 1}"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_dos_end_of_file_mark_in_utf16(codec: str) -> None:
    text = "email,name\nann@example.com,Ann\n\x1a"
    _, rows = run(
        codecs.BOM_UTF16_LE + text.encode(codec)
        if codec == "utf-16-le"
        else codecs.BOM_UTF16_BE + text.encode(codec)
    )
    assert [(r.email, r.verdict) for r in rows] == [("ann@example.com", Verdict.VALID)]


@pytest.mark.parametrize(
    "data",
    [
        b"email,name\nann@example.com,A\x1ann\nbob@example.com,Bob\n",
        b"email,name\nann@example.com,Ann\n\x1a\x1b\n",
        b"email,name\nann@example.com,Ann\n\x1a\x1aend\n",
        # Ctrl-Z at the very end of the sniffed bytes, but more data follows
        ("email,name\n" + rows_of(SNIFF_BYTES // 20)).encode()[: SNIFF_BYTES - 1] + b"\x1a" + b"more\n",
    ],
    ids=["mid-line", "other-control-byte", "not-at-the-end", "at-sniff-end"],
)
def test_control_bytes_elsewhere_are_still_binary(data: bytes) -> None:
    with pytest.raises(UnusableFileError, match="binary"):
        run(data)


def test_only_a_dos_end_of_file_mark_is_an_empty_file() -> None:
    with pytest.raises(UnusableFileError, match="empty"):
        run(b"\x1a")


# -- bytes that do not decode ---------------------------------------------------------------------


def test_undecodable_byte_becomes_replacement_character_and_only_the_email_cell_is_malformed() -> None:
    # Given a Windows-1252 file with bytes undefined there (0x81) in a name and in an address
    data = b"email,name\nann@example.com,Z\xe9\x81\nb\x81ob@example.com,Bob\n"
    # When it is verified
    verification, rows = run(data)
    # Then the bytes become U+FFFD wherever they are; the row is malformed only for the address
    assert codecs.lookup(verification.encoding).name == "cp1252"
    assert rows[0].fields[1] == "Zé\ufffd"
    assert [r.verdict for r in rows] == [Verdict.VALID, Verdict.MALFORMED_ROW]
