"""Reading whatever file a customer uploads: encodings, separators, headers, quoting, broken files.

Everything goes through ``Verification`` (the reader's only user), on in-memory byte streams.
"""

from __future__ import annotations

import codecs
import gzip
import io
import random
import zipfile

import pytest

from listguard.verification import Policy, RowResult, UnusableFileError, Verdict, Verification
from listguard.verification.reader import MAX_ROW_CHARS, READ_BLOCK_BYTES, SNIFF_BYTES

MIB = 1 << 20


def run(data: bytes, **kwargs) -> tuple[Verification, list[RowResult]]:
    """Verify ``data`` in full: the Verification (for its facts) and every row's result."""
    verification = Verification(io.BytesIO(data), **kwargs)
    rows = [row for batch in verification.batches() for row in batch]
    return verification, rows


def pad_to(text: str, offset: int, *, make_row) -> str:
    """Append rows (``make_row(unique_number, filler)``) until ``text`` is exactly ``offset`` characters."""
    while len(text) < offset - 200:
        text += make_row(len(text), "")
    short = make_row(len(text), "")
    missing = offset - len(text) - len(short)
    assert missing >= 0
    text += make_row(len(text), "x" * missing)
    assert len(text) == offset
    return text


def plain_row(i: int, filler: str) -> str:
    return f"user{i}@example.com,Name{filler}\n"


# -- encodings -------------------------------------------------------------------------------

NAMES_CSV = "email,name\nzoe@example.com,Zoë\nmax@example.com,Müller\nsam@example.com,Sam\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(NAMES_CSV.encode("utf-8"), "utf-8", id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + NAMES_CSV.encode("utf-8"), "utf-8-sig", id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + NAMES_CSV.encode("utf-16-le"), "utf-16-le", id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + NAMES_CSV.encode("utf-16-be"), "utf-16-be", id="utf-16-be-bom"),
        pytest.param(NAMES_CSV.encode("cp1252"), "windows-1252", id="windows-1252"),
        pytest.param(
            NAMES_CSV.replace("\n", "\r\n").encode("cp1252"), "windows-1252", id="windows-1252-crlf"
        ),
    ],
)
def test_every_encoding_reads_names_right(data: bytes, encoding: str) -> None:
    # Given the same contacts in one of the accepted encodings
    # When the file is verified
    verification, rows = run(data)
    # Then the encoding is recognised, the header found, and accented names decoded right
    assert codecs.lookup(verification.encoding).name == codecs.lookup(encoding).name
    assert verification.email_column == "email"
    assert [(r.row, r.email, r.fields[1], r.verdict) for r in rows] == [
        (1, "zoe@example.com", "Zoë", Verdict.VALID),
        (2, "max@example.com", "Müller", Verdict.VALID),
        (3, "sam@example.com", "Sam", Verdict.VALID),
    ]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(codec: str) -> None:
    # Given a UTF-16 file written without a byte-order mark
    # When the file is verified / Then the NUL pattern gives its byte order away
    verification, rows = run(NAMES_CSV.encode(codec))
    assert verification.encoding == codec
    assert [r.fields[1] for r in rows] == ["Zoë", "Müller", "Sam"]


@pytest.mark.parametrize("ascii_bytes", [70 * 1024, SNIFF_BYTES + READ_BLOCK_BYTES + 5000])
def test_windows_1252_detected_when_first_non_ascii_byte_comes_late(ascii_bytes: int) -> None:
    # Given a Windows-1252 file whose first 70 KB (or first 1.1 MB) are pure ASCII
    text = pad_to("email,name\n", ascii_bytes, make_row=plain_row)
    text += "zoe@example.com,Zoë\nmax@example.com,Müller\n"
    data = text.encode("cp1252")
    assert data[:ascii_bytes].isascii()
    # When the file is verified
    verification, rows = run(data)
    # Then it is read as Windows-1252: the late names are right and no row is malformed
    assert codecs.lookup(verification.encoding).name == "cp1252"
    assert [r.fields[1] for r in rows[-2:]] == ["Zoë", "Müller"]
    assert {r.verdict for r in rows} == {Verdict.VALID}


def test_utf8_multibyte_character_across_read_boundary() -> None:
    # Given a UTF-8 file whose first non-ASCII character straddles the sniffed block's end
    text = pad_to("email,name\n", SNIFF_BYTES - 1 - len("zoe@example.com,Zo"), make_row=plain_row)
    text += "zoe@example.com,Zoë\n"  # "ë" sits on bytes 65535-65536
    data = text.encode("utf-8")
    assert data[SNIFF_BYTES - 1 : SNIFF_BYTES + 1] == "ë".encode()
    # When the file is verified
    verification, rows = run(data)
    # Then it is still UTF-8 and the name is whole
    assert verification.encoding == "utf-8"
    assert rows[-1].fields[1] == "Zoë"


# -- separators ------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_every_separator_is_detected_by_itself(sep: str) -> None:
    # Given a file separated by one of the accepted separators, with the others inside values
    others = "".join(s for s in ",;|" if s != sep)
    lines = [
        ["Name", "Email", "City"],
        [f"Ann{others}Lee", "ann@example.com", "Paris"],
        ["Bob", "bob@example.com", "Rome"],
    ]
    data = "".join(sep.join(line) + "\n" for line in lines).encode()
    # When the file is verified
    verification, rows = run(data)
    # Then the separator is found and every row is split on it
    assert verification.separator == sep
    assert verification.email_column == "Email"
    assert [r.fields for r in rows] == [line for line in lines[1:]]
    assert [r.verdict for r in rows] == [Verdict.VALID, Verdict.VALID]


# -- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["email", "Email", "EMAIL", "E-mail", "E-mail Address", "Email Address", " eMail "]
)
def test_email_header_matched_regardless_of_case_and_aliases(name: str) -> None:
    # Given a header whose address column is named in one of the usual ways, not first
    data = f"First Name,{name},Phone\nAnn,ann@example.com,123\n".encode()
    # When the file is verified
    verification, rows = run(data)
    # Then that column is the email column
    assert verification.email_column == name.strip()
    assert verification.email_index == 1
    assert [(r.email, r.verdict) for r in rows] == [("ann@example.com", Verdict.VALID)]


# -- quoting ---------------------------------------------------------------------------------


def test_quoted_fields_with_separator_doubled_quotes_and_newlines() -> None:
    # Given quoted fields holding the separator, doubled quotes and newlines
    data = (
        b"email,name,notes\n"
        b'ann@example.com,"Lee, Ann","says ""hi"""\n'
        b'bob@example.com,"Bob","line one\nline two\r\nline three"\n'
        b'"cy@example.com",Cy,plain\n'
    )
    # When the file is verified
    _, rows = run(data)
    # Then each record is one row, with its fields unquoted
    assert [r.row for r in rows] == [1, 2, 3]
    assert rows[0].fields == ["ann@example.com", "Lee, Ann", 'says "hi"']
    assert rows[1].fields[2].replace("\r\n", "\n") == "line one\nline two\nline three"
    assert rows[2].email == "cy@example.com"
    assert {r.verdict for r in rows} == {Verdict.VALID}


@pytest.mark.parametrize(
    "boundary",
    [SNIFF_BYTES, READ_BLOCK_BYTES, SNIFF_BYTES + READ_BLOCK_BYTES, SNIFF_BYTES + 2 * READ_BLOCK_BYTES],
    ids=["64KiB", "1MiB", "64KiB+1MiB", "64KiB+2MiB"],
)
@pytest.mark.parametrize("before", [1, 10])
def test_quoted_newline_straddling_a_read_block_boundary(boundary: int, before: int) -> None:
    # Given a file of more than 1 MiB where a quoted newline sits right at a read-block boundary
    text = pad_to("email,notes\n", boundary - before - len('quote@example.com,"'), make_row=plain_row)
    text += 'quote@example.com,"' + "a" * (before - 1) + "\nb\nc" + '"\n'
    assert text[boundary - 1] == "\n"
    text = pad_to(text, max(boundary, MIB) + 100_000, make_row=plain_row)
    text += "last@example.com,end\n"
    data = text.encode()
    assert len(data) > MIB
    # When the file is verified
    _, rows = run(data)
    # Then the quoted record is whole, and every row is still one record
    quoted = [r for r in rows if r.email == "quote@example.com"]
    assert len(quoted) == 1
    assert quoted[0].fields[1] == "a" * (before - 1) + "\nb\nc"
    assert rows[-1].email == "last@example.com"
    assert [r.row for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == text.count("@example.com")
    assert {r.verdict for r in rows} == {Verdict.VALID}


@pytest.mark.parametrize("quoted", [True, False])
def test_field_up_to_the_row_limit_is_read_whole(quoted: bool) -> None:
    # Given a field that fills its row up to the limit (longer than the csv module's 128 KiB would
    # allow if the limit were raised: the reader never relies on the csv module's limit)
    row_start = "ann@example.com,"
    long = "x" * (MAX_ROW_CHARS - len(row_start) - (2 if quoted else 0))
    cell = f'"{long}"' if quoted else long
    data = f"email,notes\n{row_start}{cell}\nbob@example.com,short\n".encode()
    # When the file is verified
    _, rows = run(data)
    # Then the field is read whole
    assert [r.email for r in rows] == ["ann@example.com", "bob@example.com"]
    assert rows[0].fields[1] == long
    assert {r.verdict for r in rows} == {Verdict.VALID}


@pytest.mark.parametrize("quoted", [True, False])
def test_row_over_the_limit_is_malformed_and_the_reason_names_the_limit(quoted: bool) -> None:
    # Given a row one character over the limit (a field of 200,000 characters, say)
    long = "x" * 200_000
    cell = f'"{long}"' if quoted else long
    data = f"email,notes\nann@example.com,{cell}\nbob@example.com,short\n".encode()
    # When the file is verified
    _, rows = run(data)
    # Then that row is malformed, its reason names the limit and holds nothing of the row; the next is fine
    assert [(r.row, r.verdict) for r in rows] == [(1, Verdict.MALFORMED_ROW), (2, Verdict.VALID)]
    assert f"{MAX_ROW_CHARS:,} characters" in rows[0].reason
    assert "ann" not in rows[0].reason and rows[0].email == "" and rows[0].fields == []


# -- ragged rows -----------------------------------------------------------------------------


def test_row_with_extra_non_empty_field_is_malformed() -> None:
    # Given a row with one field more than the header, and that field holds a value
    data = b"email,name,city\nann@example.com,Ann,Paris,oops\nbob@example.com,Bob,Rome\n"
    # When the file is verified
    _, rows = run(data)
    # Then that row is malformed and the reason says why; the next row is fine
    assert [r.verdict for r in rows] == [Verdict.MALFORMED_ROW, Verdict.VALID]
    assert "4 fields" in rows[0].reason and "3" in rows[0].reason


def test_row_with_trailing_empty_extra_fields_is_fine() -> None:
    # Given rows with trailing empty fields beyond the header (spreadsheet exports do that)
    data = b"email,name,city\nann@example.com,Ann,Paris,,\nbob@example.com,Bob,Rome,\n"
    # When the file is verified / Then they are valid
    _, rows = run(data)
    assert [r.verdict for r in rows] == [Verdict.VALID, Verdict.VALID]


def test_short_row_without_the_email_cell_is_malformed() -> None:
    # Given a row too short to reach the email column
    data = b"name,city,email\nAnn,Paris\nBob,Rome,bob@example.com\n"
    # When the file is verified
    _, rows = run(data)
    # Then it is malformed (not an empty address), and the reason says why
    assert [r.verdict for r in rows] == [Verdict.MALFORMED_ROW, Verdict.VALID]
    assert rows[0].reason


def test_short_row_with_its_email_cell_is_kept() -> None:
    # Given a row with fewer fields than the header: the email cell is there, trailing cells are
    # missing (spreadsheets export rows that way when the last cells are empty)
    data = b"email,name,city\nann@example.com,Ann\nbob@example.com,Bob,Rome\n"
    # When the file is verified
    _, rows = run(data)
    # Then the short row is a contact like any other: the missing cells are empty
    assert [r.verdict for r in rows] == [Verdict.VALID, Verdict.VALID]


# -- line ends and blank lines ---------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"], ids=["crlf", "lone-cr", "lf"])
@pytest.mark.parametrize("quoted", [False, True])
def test_line_ends(newline: str, quoted: bool) -> None:
    # Given a file with CRLF, lone-CR (old Mac) or LF line ends, with or without quoted fields
    q = '"' if quoted else ""
    text = f"email,name{newline}ann@example.com,{q}Ann{q}{newline}bob@example.com,{q}Bob{q}{newline}"
    # When the file is verified
    _, rows = run(text.encode())
    # Then each line is one row, with no stray carriage return
    assert [(r.row, r.email, r.fields) for r in rows] == [
        (1, "ann@example.com", ["ann@example.com", "Ann"]),
        (2, "bob@example.com", ["bob@example.com", "Bob"]),
    ]
    assert {r.verdict for r in rows} == {Verdict.VALID}


def test_lone_cr_file_larger_than_a_read_block() -> None:
    # Given an old-Mac file (lone CR line ends) of more than 1 MiB
    text = pad_to("email,name\n", SNIFF_BYTES + READ_BLOCK_BYTES + 1000, make_row=plain_row)
    expected = text.count("@")
    data = text.replace("\n", "\r").encode()
    # When the file is verified
    _, rows = run(data)
    # Then every line is one valid row
    assert len(rows) == expected
    assert {r.verdict for r in rows} == {Verdict.VALID}
    assert all("\r" not in r.fields[1] for r in rows)


@pytest.mark.parametrize("quoted", [False, True])
def test_blank_lines_are_skipped_and_not_counted(quoted: bool) -> None:
    # Given blank lines, whitespace-only lines and separator-only lines among the rows
    q = '"' if quoted else ""
    text = f"\n\nemail,name\n\nann@example.com,{q}Ann{q}\n\n   \n,\n\t\n,,  \nbob@example.com,Bob\n\n\r\n"
    # When the file is verified
    _, rows = run(text.encode())
    # Then only the two contacts are rows, numbered 1 and 2
    assert [(r.row, r.email, r.verdict) for r in rows] == [
        (1, "ann@example.com", Verdict.VALID),
        (2, "bob@example.com", Verdict.VALID),
    ]


@pytest.mark.parametrize("blank", ["\n", "   \n", ",\n", ",,\n", "\t\n", " ,\n"])
def test_blank_line_at_the_start_of_a_later_block_is_skipped(blank: str) -> None:
    # Given a file > 1 MiB where a blank line starts exactly where a read block starts
    boundary = SNIFF_BYTES + READ_BLOCK_BYTES
    text = pad_to("email,name\n", boundary, make_row=plain_row)
    text += blank
    text = pad_to(text, boundary + 5000, make_row=plain_row)
    expected = text.count("@")
    # When the file is verified
    _, rows = run(text.encode())
    # Then the blank line is no row: every row is a valid contact, numbered without a gap
    assert len(rows) == expected
    assert {r.verdict for r in rows} == {Verdict.VALID}


# -- header only -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"email,name\n", b"email", b"email;name\r\n\r\n", codecs.BOM_UTF8 + b"Email\n"]
)
def test_header_only_is_no_error(data: bytes) -> None:
    # Given a file with a header row and no contacts
    # When the file is verified
    verification, rows = run(data)
    # Then there are no rows, and the report says so
    assert rows == []
    report = verification.report()
    assert report.rows == 0
    assert report.new_contacts == 0


# -- broken files ----------------------------------------------------------------------------


def _zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "email\nann@example.com\n")
    return buffer.getvalue()


BROKEN = {
    "empty": b"",
    "whitespace-only": b"  \n\t\r\n   \n",
    "long-whitespace-only": b" " * (SNIFF_BYTES + 10) + b"\n" * 10,
    "utf8-bom-only": codecs.BOM_UTF8,
    "nul-bytes": b"email,name\n\x00\x00\x00\x01\x02ann@example.com\x00\n" * 20,
    "random-binary": random.Random(7).randbytes(4096),
    "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "gzip": gzip.compress(b"email\nann@example.com\n"),
    "zip": _zip_bytes(["contacts.csv"]),
    "xlsx": _zip_bytes(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]),
    "xls-ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
    "no-email-column": b"name,phone\nAnn,123\nBob,456\n",
    "no-email-column-header-only": b"first name;last name\n",
}


@pytest.mark.parametrize("data", list(BROKEN.values()), ids=list(BROKEN))
def test_unusable_file_raises_with_one_line_message(data: bytes) -> None:
    # Given a file that cannot be a contact list
    # When it is verified
    # Then UnusableFileError says what is wrong, on one line
    with pytest.raises(UnusableFileError) as caught:
        run(data)
    message = str(caught.value)
    assert message.strip()
    assert "\n" not in message


@pytest.mark.parametrize(
    "data",
    [
        b"Nom;Telephone\nAnn Lee;+33 1 23 45\n",
        b"Ann Lee,+33 1 23 45,Paris\nBob,456,Rome\n",
        "Zoë Müller;not-an-address;Berlin\n".encode(),
    ],
)
def test_no_email_column_message_names_row_1_and_the_problem_never_its_content(data: bytes) -> None:
    # Given a file whose first row is neither a header with an email column nor a row with an address
    # When it is verified
    with pytest.raises(UnusableFileError) as caught:
        run(data)
    # Then the message names row 1 and what is wrong, and holds nothing of what the row holds
    message = str(caught.value)
    assert "row 1" in message and "email column" in message
    first_row = data.decode().splitlines()[0]
    for cell in first_row.replace(";", ",").split(","):
        assert cell not in message


def test_header_over_the_row_limit_is_rejected_without_its_content() -> None:
    # Given a file whose first row is over the row limit (a quote that never closes)
    data = b'"email,name\n' + b"ann@example.com,Ann\n" * 3000
    # When it is verified / Then it is rejected: row 1 is over the limit, and the message says so
    with pytest.raises(UnusableFileError, match="row 1 is longer than") as caught:
        run(data)
    assert "ann@" not in str(caught.value)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_headerless_file_with_an_international_address_is_data(sep: str) -> None:
    # Given a file without a header whose first row holds an internationalised address
    lines = [["Zoë Müller", "zoë@example.de", "Berlin"], ["Max Mustermann", "max@example.de", "Köln"]]
    data = "".join(sep.join(line) + "\n" for line in lines).encode()
    # When it is verified
    verification, rows = run(data)
    # Then every row is a contact, the first one included
    assert verification.email_index == 1
    assert [(r.row, r.email, r.verdict) for r in rows] == [
        (1, "zoë@example.de", Verdict.VALID),
        (2, "max@example.de", Verdict.VALID),
    ]


SMALL = b"email,name\n" + b"".join(f"user{i}@example.com,Name\n".encode() for i in range(200))


def test_declared_size_over_the_limit_is_rejected_before_reading() -> None:
    # Given a declared size over the policy's limit
    stream = io.BytesIO(SMALL)
    # When the file is verified / Then it is rejected, without reading the stream
    with pytest.raises(UnusableFileError) as caught:
        Verification(stream, policy=Policy(max_file_bytes=len(SMALL) - 1), size=len(SMALL))
    assert "\n" not in str(caught.value)
    assert stream.tell() == 0


def test_declared_size_over_the_default_limit_is_rejected() -> None:
    # Given the default 250 MB limit and a declared size of 251 MB
    # When the file is verified / Then it is rejected
    with pytest.raises(UnusableFileError, match="limit"):
        Verification(io.BytesIO(SMALL), size=251 * 1024 * 1024)


def test_size_at_the_limit_is_accepted() -> None:
    # Given a file exactly as large as the limit, declared or not
    policy = Policy(max_file_bytes=len(SMALL))
    # When it is verified / Then it is read in full
    for size in (len(SMALL), None):
        _, rows = run(SMALL, policy=policy, size=size)
        assert len(rows) == 200


@pytest.mark.parametrize(
    ("file_bytes", "limit"),
    [(len(SMALL), len(SMALL) - 1), (len(SMALL), 1000), (2 * MIB, 200_000), (2 * MIB, MIB)],
    ids=["small-by-one", "small", "large", "large-1MiB"],
)
def test_streamed_bytes_over_the_limit_without_size(file_bytes: int, limit: int) -> None:
    # Given a stream with no declared size that turns out longer than the limit
    data = (
        SMALL if file_bytes == len(SMALL) else pad_to("email,name\n", file_bytes, make_row=plain_row).encode()
    )
    assert len(data) > limit
    # When it is verified (construction and all batches)
    # Then it is rejected with a one-line message
    with pytest.raises(UnusableFileError) as caught:
        run(data, policy=Policy(max_file_bytes=limit))
    assert "\n" not in str(caught.value)
