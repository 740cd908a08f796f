"""Streaming CSV reading for any file a customer uploads.

The file is never loaded whole: bytes are read in blocks, decoded incrementally, and cut into
blocks of complete records. A block without quotes is split with ``str.split`` (the common case,
and much faster than the csv module); a block with quotes goes through ``csv.reader``, which handles
quoted separators, doubled quotes and newlines inside fields. A record never straddles two blocks:
a block ends at a newline that is outside every quoted field, by the csv module's own rules (a quote
opens a quoted field only at the start of a field; elsewhere it is a literal character). A quoted
field that never closes is read on for at most ``MAX_PENDING_CHARS``, then cut at a newline anyway:
the csv module reads it to the end of that block, as it would to the end of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import itemgetter
from typing import Protocol

from .errors import UnusableFileError

SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
READ_BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 64 * 1024
# A quoted field still open after this much text is cut anyway, so a stray quote cannot make the
# reader hold the rest of a large file in memory.
MAX_PENDING_CHARS = 16 << 20
# The lines of the sniffed text that decide the separator.
SEPARATOR_SAMPLE_LINES = 20
# A DOS end-of-file mark (Ctrl-Z) that old tools append to text files.
DOS_EOF = b"\x1a"

# Fields may be longer than the csv module's default 128 KiB limit (a notes column, a pasted HTML
# signature); the file size limit bounds them anyway.
csv.field_size_limit(sys.maxsize)

# Files that are not CSV text, recognised by their first bytes: (magic, what it is).
_NOT_CSV_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control characters that never appear in a text CSV (tab, newline and carriage return do).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
HOW_TO_EXPORT = "export the contacts as CSV (UTF-8) from your spreadsheet or CRM and upload that file"


class ByteStream(Protocol):
    """What the reader needs of a file: an open file, or the body of an S3 object."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass
class _Decoder:
    """Incremental decoding that settles the encoding from the bytes themselves.

    With a BOM the encoding is known. Without one, UTF-8 is assumed while the bytes are plain ASCII
    (both candidates agree on ASCII); the first block with other bytes decides between UTF-8 and
    Windows-1252, so a Windows-1252 file whose first megabyte is ASCII is still read right.
    Bytes that still fail to decode become U+FFFD (the replacement character) wherever they are; a
    row is reported malformed only when the replacement character lands in its email cell.
    """

    encoding: str  # "utf-8" while undecided
    settled: bool
    _decoder: codecs.IncrementalDecoder = field(init=False)

    def __post_init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")

    def decode(self, data: bytes, final: bool = False) -> str:
        if not self.settled and not data.isascii():
            self.settled = True
            try:
                codecs.getincrementaldecoder("utf-8")(errors="strict").decode(data, final=final)
            except UnicodeDecodeError:
                self.encoding = "windows-1252"
                self._decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
        return self._decoder.decode(data, final)


def _sniff_encoding(head: bytes, *, at_end: bool = False) -> tuple[str, int, bool]:
    """(encoding, BOM length, settled) from the first bytes; raises when the file is not text.

    ``at_end``: ``head`` is the whole file, so a DOS end-of-file mark at its end is no binary data.
    """
    for magic, what in _NOT_CSV_SIGNATURES:
        if head.startswith(magic):
            raise UnusableFileError(f"the file is {what}, not a CSV file; {HOW_TO_EXPORT}")
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom), True
    if b"\x00" in head:
        # UTF-16 without a BOM shows a NUL beside every ASCII character.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) // 4 and even == 0:
            return "utf-16-le", 0, True
        if even > len(head) // 4 and odd == 0:
            return "utf-16-be", 0, True
    if _BINARY_BYTES.search(head.rstrip(DOS_EOF) if at_end else head):
        raise UnusableFileError(f"the file is not text (it holds binary data); {HOW_TO_EXPORT}")
    return "utf-8", 0, False


def _megabytes(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1e6 else f"{size:,} bytes"


# Excel's first line naming the separator, "sep=;": not the header.
_SEPARATOR_LINE = re.compile(r'"?sep=([,;\t|])"?[ ]*(?:\r?\n|\r|$)', re.IGNORECASE)


def _detect_separator(sample: str) -> str:
    """The candidate separator that best splits the first lines of ``sample`` (comma on a true tie).

    Each candidate splits the first records as the csv module would (so quoted separators do not
    count). A candidate must split the header; then the one that gives the most data records the
    header's number of fields wins, then the one that gives the header more fields.
    """
    end = sample.rfind("\n")
    if end > 0:
        sample = sample[: end + 1]  # whole lines only: the sniffed text may end mid-line
    sample = sample.replace("\r", "")
    best, best_score = ",", (0, 0)
    for sep in SEPARATORS:
        nonblank = (r for r in csv.reader(io.StringIO(sample), delimiter=sep) if "".join(r).strip())
        records = list(islice(nonblank, SEPARATOR_SAMPLE_LINES + 1))
        header = len(records[0]) if records else 0
        if header < 2:
            continue  # not on the header
        # A data record fits when it has the header's fields, allowing trailing empty ones.
        fitting = sum(
            len(record) == header or (len(record) > header and not "".join(record[header:]).strip())
            for record in records[1:]
        )
        if (fitting, header) > best_score:
            best, best_score = sep, (fitting, header)
    return best


_QUOTED_FIELD_SCANNERS: dict[str, re.Pattern[str]] = {}


def _quote_scanner(sep: str) -> re.Pattern[str]:
    """Matches text outside quoted fields, by the csv module's (non-strict) rules, up to a quoted field
    that does not close.

    Tokens: a run without quotes; a quote after any other character than the separator or a line
    break (a literal character of an unquoted field); a quote at the start of a field, which opens a
    quoted field, up to the single quote that closes it (``""`` inside is a literal quote). The
    quantifiers are possessive: a quoted field that does not close ends the match at its quote.
    """
    scanner = _QUOTED_FIELD_SCANNERS.get(sep)
    if scanner is None:
        s = re.escape(sep)
        scanner = re.compile(rf'(?:[^"]++|(?<=[^{s}\n])"|(?<![^{s}\n])"[^"]*+(?:""[^"]*+)*+")*+')
        _QUOTED_FIELD_SCANNERS[sep] = scanner
    return scanner


class CsvStream:
    """The records of one CSV byte stream, in blocks. Sniffs encoding and separator on construction."""

    def __init__(self, stream: ByteStream, *, max_bytes: int, size: int | None = None) -> None:
        if size is not None and size > max_bytes:
            raise UnusableFileError(
                f"the file is {size / 1e6:.1f} MB, over the {_megabytes(max_bytes)} limit; "
                "split it into smaller files and import them one by one"
            )
        self._stream = stream
        self._max_bytes = max_bytes
        first = stream.read(SNIFF_BYTES)
        self.bytes_read = len(first)
        self._check_size()
        at_end = False
        while first.endswith(DOS_EOF):  # the file's end-of-file mark, or binary data? Look further.
            more_bytes = stream.read(READ_BLOCK_BYTES)
            if not more_bytes:
                at_end = True
                break
            first += more_bytes
            self.bytes_read += len(more_bytes)
            self._check_size()
        encoding, bom_length, settled = _sniff_encoding(first, at_end=at_end)
        self._decoder = _Decoder(encoding=encoding, settled=settled)
        text = self._decoder.decode(first[bom_length:])
        while not text.rstrip("\x1a").strip():  # nothing but blank lines yet: read on, without them
            more = self._read_text()
            if more is None:
                raise UnusableFileError(
                    "the file is empty; upload a CSV with a header row and one contact per row"
                )
            text = text[max(text.rfind("\n"), text.rfind("\r")) + 1 :] + more
        # Old Mac files end lines with a lone CR; the block cutter looks for LF.
        self._lone_cr = "\r" in text and "\n" not in text
        text = self._normalise(text)
        separator_line = _SEPARATOR_LINE.match(text)
        if separator_line:  # Excel's "sep=;": the separator, and the header comes next
            self.separator = separator_line.group(1)
            text = text[separator_line.end() :]
        else:
            self.separator = _detect_separator(text.lstrip("\r\n"))
        self._pending = text

    @property
    def encoding(self) -> str:
        return self._decoder.encoding

    def _normalise(self, text: str) -> str:
        return text.replace("\r", "\n") if self._lone_cr else text

    def _read_text(self) -> str | None:
        data = self._stream.read(READ_BLOCK_BYTES)
        if not data:
            return None
        self.bytes_read += len(data)
        self._check_size()
        return self._decoder.decode(data)

    def _check_size(self) -> None:
        if self.bytes_read > self._max_bytes:
            raise UnusableFileError(
                f"the file is over the {_megabytes(self._max_bytes)} limit; "
                "split it into smaller files and import them one by one"
            )

    def text_blocks(self) -> Iterator[str]:
        """Blocks of whole records: each ends at a newline that is not inside a quoted field.

        A quoted field still open after ``MAX_PENDING_CHARS`` is cut at a newline anyway.
        """
        pending = self._pending
        scanner = _quote_scanner(self.separator)
        scanned = 0  # ``pending`` up to here is outside quoted fields (a quoted field may start here)
        while True:
            more = self._read_text()
            if more is None:
                pending += self._decoder.decode(b"", final=True)
                pending = pending.rstrip("\x1a")  # a DOS end-of-file mark
                if pending:
                    yield pending
                return
            pending += self._normalise(more)
            cut = pending.rfind("\n")
            if cut < 0:
                continue
            if '"' in pending:
                # The scan stops at a quoted field that does not close before the last newline.
                outside = scanner.match(pending, scanned, cut + 1)
                assert outside is not None  # the pattern matches the empty string
                scanned = outside.end()
                if scanned <= cut and len(pending) <= MAX_PENDING_CHARS:
                    continue  # the last newline is inside a quoted field: read on until it closes
            block = pending[: cut + 1]
            pending = pending[cut + 1 :]
            scanned = 0
            yield block

    def records(self, block: str) -> Records:
        return Records(block, self.separator)


def _lines_with_quotes(text: str, lines: list[str]) -> list[int]:
    """The numbers of the lines that hold a quote, ``lines`` being ``text`` split at line breaks.

    Quotes are usually on a few lines of a block: find them by searching the text (C-level), not by
    counting the quotes of every line. Quotes on most lines (every cell quoted): count per line.
    """
    if text.count('"') > len(lines) // 8:
        return list(compress(range(len(lines)), map(str.count, lines, repeat('"'))))
    found: list[int] = []
    line = start = 0  # the line that begins at ``start``
    position = text.find('"')
    while position >= 0:
        line += text.count("\n", start, position)
        found.append(line)
        start = text.find("\n", position) + 1
        if not start:
            break
        line += 1
        position = text.find('"', start)
    return found


class Records:
    """The records of one block of whole records, parsed on first use, split into fields only when asked.

    The block is cut into lines, and a line is split on the separator only when its fields are
    needed (most rows only need their email cell). Lines with quotes are parsed by the csv module,
    one line each while every quoted field closes on its own line (checked by the csv module in
    strict mode: a field left open, or a stray character after a closing quote, is an error there);
    otherwise the block goes through the csv module whole. Either way the records are those of
    ``csv.reader`` over the block (without carriage returns). Blank lines, and lines of nothing but
    separators, spaces and empty quotes, are skipped.
    """

    __slots__ = ("_block", "_fields", "_lines", "_quoted", "sep")

    def __init__(self, block: str, sep: str) -> None:
        self._block: str | None = block
        self.sep = sep
        self._lines: list[str] | None = None  # one record per line ...
        self._quoted: dict[int, list[str]] = {}  # ... except these, parsed by the csv module
        self._fields: list[list[str]] | None = None  # every record's fields, once asked for

    @classmethod
    def _parsed(cls, sep: str, lines: list[str] | None, fields: list[list[str]] | None) -> Records:
        records = cls("", sep)
        records._block, records._lines, records._fields = None, lines, fields
        return records

    def _parse(self) -> None:
        block, sep = self._block, self.sep
        if block is None:
            return
        self._block = None
        has_quotes = '"' in block
        if "\r" in block:
            block = block.replace("\r", "")  # CRLF line ends (a lone CR was turned into LF already)
        whole = block
        lines = block.split("\n")
        if lines and not lines[-1]:
            lines.pop()
        blank = sep + " \t"
        # A blank line is empty or all separators and spaces. Look for one with a regular expression
        # (C-level, a few characters a line) before paying for a pass over every line: a line that
        # merely starts with a space or an empty cell is common.
        if lines and (
            not lines[0].strip(blank)
            or not lines[-1].strip(blank)
            or re.search(f"\n[{re.escape(blank)}]*\n", block)
        ):
            lines = [line for line in lines if line.strip(blank)]
            if has_quotes:
                block = "\n".join(lines)
        if has_quotes:
            quoted = _lines_with_quotes(block, lines)
            try:
                # One record per line, or an error: a quoted field left open at the end of a line
                # takes in the next line (one record fewer) or raises at the end of the data.
                records = list(csv.reader([lines[i] for i in quoted], delimiter=sep, strict=True))
            except csv.Error:
                records = []
            if len(records) != len(quoted):  # a quoted field spans lines: parse the block whole
                reader = csv.reader(io.StringIO(whole), delimiter=sep)
                self._fields = [record for record in reader if "".join(record).strip()]
                return
            parsed = dict(zip(quoted, records, strict=True))
            empty = {i for i, record in parsed.items() if not "".join(record).strip()}
            if empty:  # lines of nothing but empty quoted cells are blank lines too
                kept = [i for i in range(len(lines)) if i not in empty]
                renumbered = {old: new for new, old in enumerate(kept)}
                lines = [lines[i] for i in kept]
                parsed = {renumbered[i]: record for i, record in parsed.items() if i not in empty}
            self._quoted = parsed
        self._lines = lines

    def __len__(self) -> int:
        self._parse()
        return len(self._lines) if self._lines is not None else len(self.fields)

    @property
    def fields(self) -> list[list[str]]:
        """Every record's fields."""
        self._parse()
        if self._fields is None:
            assert self._lines is not None
            fields = list(map(str.split, self._lines, repeat(self.sep)))
            for index, record in self._quoted.items():
                fields[index] = record
            self._fields = fields
        return self._fields

    def record(self, index: int) -> list[str]:
        """One record's fields."""
        self._parse()
        if self._fields is not None:
            return self._fields[index]
        assert self._lines is not None
        quoted = self._quoted.get(index)
        return quoted if quoted is not None else self._lines[index].split(self.sep)

    def field_counts(self) -> list[int]:
        self._parse()
        if self._fields is not None:
            return list(map(len, self._fields))
        assert self._lines is not None
        counts = [count + 1 for count in map(str.count, self._lines, repeat(self.sep))]
        for index, record in self._quoted.items():
            counts[index] = len(record)
        return counts

    def column(self, index: int, counts: list[int]) -> list[str]:
        """The stripped cells of one column ("" where a record is too short to have it)."""
        self._parse()
        if min(counts, default=index + 1) <= index:
            return [fields[index].strip() if len(fields) > index else "" for fields in self.fields]
        if self._fields is not None:
            return list(map(str.strip, map(itemgetter(index), self._fields)))
        assert self._lines is not None
        # A quoted line splits into at least as many pieces as it has fields: the cell is there,
        # though maybe cut at a quoted separator; the csv module's reading replaces it below.
        pieces: Iterator[Sequence[str]]
        if index == 0:  # the usual place of the email column; partition is faster than split
            pieces = map(str.partition, self._lines, repeat(self.sep))
        else:
            pieces = map(str.split, self._lines, repeat(self.sep), repeat(index + 1))
        cells = list(map(str.strip, map(itemgetter(index), pieces)))
        for row, record in self._quoted.items():
            cells[row] = record[index].strip()
        return cells

    def without_first(self) -> Records:
        self._parse()
        if self._fields is not None:
            return Records._parsed(self.sep, None, self._fields[1:])
        assert self._lines is not None
        rest = Records._parsed(self.sep, self._lines[1:], None)
        rest._quoted = {index - 1: record for index, record in self._quoted.items() if index}
        return rest
