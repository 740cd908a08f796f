"""Streaming CSV reading for any file a customer uploads.

The file is never loaded whole: bytes are read in blocks, decoded, and cut into blocks of complete
records. A block without quotes is split with ``str.split`` (the common case, and much faster than
the csv module); a block with quotes goes through ``csv.reader``, which handles quoted separators,
doubled quotes and newlines inside fields. A record never straddles two blocks: a block ends at a
newline that is outside every quoted field, by the csv module's own rules (a quote opens a quoted
field only at the start of a field; elsewhere it is a literal character).

Limits keep a hostile file from taking memory: a row (its line, or its lines when a quoted field
holds line breaks) may be ``MAX_ROW_CHARS`` long, and so may a field. A longer row is never held
whole: it becomes a malformed row of its own, and reading resumes after it (after the line of a
quoted field still open at the limit: such a quote is taken for a stray one).

Text that is not UTF-16 or UTF-32 (known by a byte-order mark or the NUL pattern) is read as UTF-8,
line by line: a line that is not valid UTF-8 is read as Windows-1252, and counted.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Iterator, Sequence
from itertools import accumulate, compress, islice, repeat
from operator import itemgetter
from typing import Protocol

from .errors import UnusableFileError

SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
READ_BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 64 * 1024
#: The longest row, in characters (its line, or lines): a longer one is a malformed row. A contact's
#: columns are stored with it, in a DynamoDB item of at most 400 KB; a row and a header of this
#: length hold at most 256 KiB of text even at 4 bytes a character.
MAX_ROW_CHARS = 32_768
#: The longest field: a field is part of its row and has its limit (one notes column may fill a row).
MAX_FIELD_CHARS = MAX_ROW_CHARS
#: The line that stands for a row over the limit, in the blocks of text: a lone surrogate, which no
#: decoded text holds (decoding replaces what is not a character).
OVERLONG_ROW = "\udfff"
# The lines of the sniffed text that decide the separator.
SEPARATOR_SAMPLE_LINES = 20
# A DOS end-of-file mark (Ctrl-Z) that old tools append to text files.
DOS_EOF = b"\x1a"

# Fields of any length up to the row limit (the csv module's default stops at 128 KiB); the reader
# never hands the csv module a text longer than a read block and a row.
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


class _Decoder:
    """Bytes to text, a block at a time, each block cut after its last line end.

    UTF-16 and UTF-32 are decoded as they come. Anything else is UTF-8, line by line: a line that
    is not valid UTF-8 (a file from an old Windows tool, or one stray byte pasted into a UTF-8 file)
    is read as Windows-1252 and counted in ``windows_1252_lines``; the other lines stay UTF-8. A
    file whose only non-ASCII lines are such lines is a Windows-1252 file (``encoding``). Bytes that
    decode in neither become U+FFFD (the replacement character) wherever they are; a row is
    reported malformed only when one lands in its email cell.
    """

    def __init__(self, encoding: str) -> None:
        self._sniffed = encoding
        self._incremental: codecs.IncrementalDecoder | None = None
        if encoding not in ("utf-8", "utf-8-sig"):
            self._incremental = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._carry = b""  # the bytes of an unfinished line
        self.windows_1252_lines = 0
        self._utf8_seen = False  # a non-ASCII line that is valid UTF-8

    @property
    def encoding(self) -> str:
        if self._incremental is None and self.windows_1252_lines and not self._utf8_seen:
            return "windows-1252"
        return self._sniffed

    def decode(self, data: bytes, final: bool = False) -> str:
        if self._incremental is not None:
            return self._incremental.decode(data, final)
        if self._carry:
            data, self._carry = self._carry + data, b""
        end = len(data)
        if not final:
            # After the last line end; a CR at the very end may be the first half of a CRLF: kept.
            end = data.rfind(b"\n") + 1 or data.rfind(b"\r", 0, len(data) - 1) + 1
            if not end:
                if len(data) <= 4 * MAX_ROW_CHARS:
                    self._carry = data
                    return ""
                # A line of more bytes than any row's characters could take: over the row limit,
                # so it is never read as a row, and its text only needs its length.
                return data.decode("utf-8", "replace")
            self._carry = data[end:]
        view = memoryview(data)[:end]
        try:
            text = codecs.utf_8_decode(view, "strict", True)[0]
        except UnicodeDecodeError:
            return self._decode_by_line(data, end)
        if not self._utf8_seen and not text.isascii():
            self._utf8_seen = True
        return text

    def _decode_by_line(self, data: bytes, end: int) -> str:
        """``data[:end]``, whole lines, some not valid UTF-8: those lines are read as Windows-1252."""
        if _UTF8_SEQUENCE.search(data, 0, end) is None:
            # Not one UTF-8 sequence: every line with other than ASCII is Windows-1252 (the usual
            # Windows-1252 file), decoded at once.
            self.windows_1252_lines += len(_NON_ASCII_LINE.findall(data, 0, end))
            return data[:end].decode("cp1252", "replace")
        view = memoryview(data)
        parts: list[str] = []
        position = 0
        while position < end:
            try:
                text = codecs.utf_8_decode(view[position:end], "strict", True)[0]
            except UnicodeDecodeError as error:
                bad = position + error.start
                line_breaks = (data.rfind(b"\n", position, bad), data.rfind(b"\r", position, bad))
                start = max(*line_breaks, position - 1) + 1
                stop = _line_end(data, bad, end)
                text = codecs.utf_8_decode(view[position:start], "strict", True)[0]
                parts.append(text)
                parts.append(data[start:stop].decode("cp1252", "replace"))
                self.windows_1252_lines += 1
                position = stop
            else:
                position = end
                parts.append(text)
            if not text.isascii():
                self._utf8_seen = True
        return "".join(parts)


# A UTF-8 sequence of more than one byte: a lead byte and a continuation byte.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# A line with a byte that is not ASCII, from that byte to the line's end.
_NON_ASCII_LINE = re.compile(rb"[\x80-\xff][^\n\r]*")


def _line_end(data: bytes, position: int, end: int) -> int:
    """Just after the line end (LF, CR or CRLF) that ends the line holding ``position``, or ``end``."""
    found = (data.find(b"\n", position, end), data.find(b"\r", position, end))
    stops = [at for at in found if at >= 0]
    if not stops:
        return end
    stop = min(stops) + 1
    return stop + 1 if data[stop - 1 : stop + 1] == b"\r\n" else stop


def _sniff_encoding(head: bytes, *, at_end: bool = False) -> tuple[str, int]:
    """(encoding, BOM length) from the first bytes; raises when the file is not text.

    ``at_end``: ``head`` is the whole file, so a DOS end-of-file mark at its end is no binary data.
    """
    for magic, what in _NOT_CSV_SIGNATURES:
        if head.startswith(magic):
            raise UnusableFileError(f"the file is {what}, not a CSV file; {HOW_TO_EXPORT}")
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if b"\x00" in head:
        # UTF-16 without a BOM shows a NUL beside every ASCII character.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) // 4 and even == 0:
            return "utf-16-le", 0
        if even > len(head) // 4 and odd == 0:
            return "utf-16-be", 0
    if _BINARY_BYTES.search(head.rstrip(DOS_EOF) if at_end else head):
        raise UnusableFileError(f"the file is not text (it holds binary data); {HOW_TO_EXPORT}")
    return "utf-8", 0


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


# While the reader drops the rest of a line over the limit: not, over a blank line so far, over a row.
_NOT_SKIPPING, _SKIPPING_BLANK, _SKIPPING_ROW = "", "blank", "row"


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
            self.bytes_read += len(more_bytes)
            self._check_size()
            if more_bytes.strip(DOS_EOF):  # data after the mark: binary (the mark is in the head)
                break
            first += more_bytes[:1]  # one mark stands for them all: what is held stays small
        encoding, bom_length = _sniff_encoding(first, at_end=at_end)
        self._decoder = _Decoder(encoding)
        text = self._decoder.decode(first[bom_length:])
        while not text.rstrip("\x1a").strip():  # nothing but blank lines yet: read on, without them
            more = self._read_text()
            if more is None:
                more = self._decoder.decode(b"", final=True)  # the last line, without a line end
                if not more.rstrip("\x1a").strip():
                    raise UnusableFileError(
                        "the file is empty; upload a CSV with a header row and one contact per row"
                    )
            # What is kept of the blank text: the unfinished line, at most a row's length of it.
            text = text[max(text.rfind("\n"), text.rfind("\r")) + 1 :][-MAX_ROW_CHARS:] + more
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

    @property
    def windows_1252_lines(self) -> int:
        """Lines that are not valid UTF-8, read as Windows-1252 (0 in UTF-16 and UTF-32)."""
        return self._decoder.windows_1252_lines

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

        A record over ``MAX_ROW_CHARS`` is not held: it comes as a line of ``OVERLONG_ROW``, but a
        blank line (separators and spaces) is skipped as blank lines are, whatever its length.
        """
        pending, scanned, skipping = self._pending, 0, _NOT_SKIPPING
        blank = self.separator + " \t\r"
        while True:
            more = self._read_text()
            final = more is None
            if more is None:
                more = self._decoder.decode(b"", final=True)
            more = self._normalise(more)
            if skipping != _NOT_SKIPPING:  # the rest of a line over the limit, up to its end
                end = more.find("\n")
                if skipping == _SKIPPING_BLANK and (more if end < 0 else more[:end]).strip(blank):
                    skipping = _SKIPPING_ROW
                if end < 0 and not final:
                    continue
                more = more[end + 1 :] if end >= 0 else ""
                if skipping == _SKIPPING_ROW:
                    more = OVERLONG_ROW + "\n" + more
                skipping = _NOT_SKIPPING
            pending += more
            if final:
                pending = pending.rstrip("\x1a")  # a DOS end-of-file mark
            block, pending, scanned, skipping = self._cut(pending, scanned, final=final)
            if block:
                yield block
            if final:
                return

    def _cut(self, pending: str, scanned: int, *, final: bool) -> tuple[str, str, int, str]:
        """``(block, rest, scanned, skipping)``: the whole records at the start of ``pending`` (which
        starts a record), and what is left of it. Records over the limit are ``OVERLONG_ROW`` lines
        in the block; ``skipping``: the rest of a line over the limit is still to come, to be dropped.

        ``scanned``: ``pending`` is known to be outside quoted fields up to there.
        """
        limit = MAX_ROW_CHARS
        blocks: list[str] = []
        while True:
            end = len(pending) if final else pending.rfind("\n") + 1  # records end before ``end``
            if end and '"' in pending:
                # The scan stops at a quoted field still open at ``end`` (a quoted field may start there).
                outside = _quote_scanner(self.separator).match(pending, scanned, end)
                assert outside is not None  # the pattern matches the empty string
                scanned = outside.end()
                if scanned < end:
                    start = self._record_start(pending, scanned)
                    if len(pending) - start <= limit:
                        if final:  # the csv module reads an open quoted field to the end of the file
                            blocks.append(pending)
                            return "".join(blocks), "", 0, _NOT_SKIPPING
                        blocks.append(pending[:start])  # read on until the quoted field closes
                        return "".join(blocks), pending[start:], scanned - start, _NOT_SKIPPING
                    # Still open past the limit: a stray quote. Its row ends with the quote's line.
                    blocks.append(pending[:start])
                    resume = pending.find("\n", scanned) + 1
                    if not resume:  # one line over the limit: dropped up to its end
                        return "".join(blocks), "", 0, _SKIPPING_ROW
                    blocks.append(OVERLONG_ROW + "\n")
                    pending, scanned = pending[resume:], 0
                    continue
            blocks.append(pending[:end])
            rest = pending[end:]
            if len(rest) - rest.endswith("\r") > limit:  # an unfinished line over the limit
                blank = not rest.strip(self.separator + " \t\r")
                return "".join(blocks), "", 0, _SKIPPING_BLANK if blank else _SKIPPING_ROW
            return "".join(blocks), rest, 0, _NOT_SKIPPING

    def _record_start(self, text: str, position: int) -> int:
        """Where the record that holds ``position`` starts: after the last line break before it that
        is outside quoted fields (``text`` starts a record, and is outside quoted fields up to there)."""
        scanner = _quote_scanner(self.separator)
        while (line_break := text.rfind("\n", 0, position)) >= 0:
            outside = scanner.match(text, 0, line_break + 1)
            assert outside is not None  # the pattern matches the empty string
            if outside.end() > line_break:  # no quoted field open at that line break
                return line_break + 1
            position = outside.end()  # inside the quoted field that opens here: look before it
        return 0

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

    A record over ``MAX_ROW_CHARS`` (or an ``OVERLONG_ROW`` line) is never split: it has no fields,
    and its number is in ``overlong``.
    """

    __slots__ = ("_block", "_fields", "_lines", "_overlong", "_quoted", "sep")

    def __init__(self, block: str, sep: str) -> None:
        self._block: str | None = block
        self.sep = sep
        self._lines: list[str] | None = None  # one record per line ...
        self._quoted: dict[int, list[str]] = {}  # ... except these, parsed by the csv module
        self._fields: list[list[str]] | None = None  # every record's fields, once asked for
        self._overlong: list[int] = []  # records over the limit (no fields)

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
        rebuilt = False
        if lines and (
            not lines[0].strip(blank)
            or not lines[-1].strip(blank)
            or re.search(f"\n[{re.escape(blank)}]*\n", block)
        ):
            lines = [line for line in lines if line.strip(blank)]
            rebuilt = True
        # Lines over the limit are never split (a few searches prove there is none; the rare block
        # that has one is looked at line by line).
        if _has_line_over(block, MAX_ROW_CHARS):
            lines = [OVERLONG_ROW if len(line) > MAX_ROW_CHARS else line for line in lines]
            rebuilt = True
        if has_quotes:
            if rebuilt:
                block = "\n".join(lines)
            quoted = _lines_with_quotes(block, lines)
            try:
                # One record per line, or an error: a quoted field left open at the end of a line
                # takes in the next line (one record fewer) or raises at the end of the data.
                records = list(csv.reader([lines[i] for i in quoted], delimiter=sep, strict=True))
            except csv.Error:
                records = []
            if len(records) != len(quoted):  # a quoted field spans lines: parse the block whole
                self._fields, self._overlong = _records_of_whole(whole, sep)
                return
            parsed = dict(zip(quoted, records, strict=True))
            empty = {i for i, record in parsed.items() if not "".join(record).strip()}
            if empty:  # lines of nothing but empty quoted cells are blank lines too
                kept = [i for i in range(len(lines)) if i not in empty]
                renumbered = {old: new for new, old in enumerate(kept)}
                lines = [lines[i] for i in kept]
                parsed = {renumbered[i]: record for i, record in parsed.items() if i not in empty}
            self._quoted = parsed
        if OVERLONG_ROW in block or (rebuilt and OVERLONG_ROW in lines):
            self._overlong = [i for i, line in enumerate(lines) if line == OVERLONG_ROW]
            for i in self._overlong:
                self._quoted[i] = []
        self._lines = lines

    def __len__(self) -> int:
        self._parse()
        return len(self._lines) if self._lines is not None else len(self.fields)

    @property
    def overlong(self) -> list[int]:
        """The numbers of the records over the row limit, in order (they have no fields)."""
        self._parse()
        return self._overlong

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
            rest = Records._parsed(self.sep, None, self._fields[1:])
        else:
            assert self._lines is not None
            rest = Records._parsed(self.sep, self._lines[1:], None)
            rest._quoted = {index - 1: record for index, record in self._quoted.items() if index}
        rest._overlong = [index - 1 for index in self._overlong if index]
        return rest


def _has_line_over(text: str, limit: int) -> bool:
    """Whether a line of ``text`` is longer than ``limit``: from each line start a line break must come
    within ``limit`` + 1 characters; the last one in that window is the next start (C-level searches,
    about one a ``limit`` of text)."""
    position, end = 0, len(text)
    while end - position > limit:
        line_break = text.rfind("\n", position, position + limit + 1)
        if line_break < 0:
            return True
        position = line_break + 1
    return False


def _records_of_whole(text: str, sep: str) -> tuple[list[list[str]], list[int]]:
    """The csv module's records of ``text`` (no carriage returns), blank ones dropped, and the numbers
    of those over the row limit (counted in the text's characters), which are left without fields."""
    # Where each line starts: a record's length is the distance between the lines it starts and ends on.
    starts = [0, *accumulate(len(line) + 1 for line in text.split("\n"))]
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    records: list[list[str]] = []
    overlong: list[int] = []
    line = 0
    for record in reader:
        first, line = line, reader.line_num
        if not "".join(record).strip():
            continue
        if starts[line] - starts[first] - 1 > MAX_ROW_CHARS or record == [OVERLONG_ROW]:
            overlong.append(len(records))
            record = []
        records.append(record)
    return records, overlong
