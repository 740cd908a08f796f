"""The rows file's fast writer produces exactly what ``csv.writer`` would, for any text."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from listguard.verification import Verdict
from listguard_console.commands.verify import _write_batch

# Text with the characters that need quoting in CSV, mixed with ordinary ones.
cells = st.text(alphabet=st.sampled_from('ab@.,"\r\n é\t'), max_size=12)
rows = st.tuples(cells, st.sampled_from(list(Verdict)), cells, cells)


@dataclass(frozen=True)
class Columns:
    """The report columns of an engine batch (``Batch`` has the same attributes, and more)."""

    rows: range
    emails: list[str]
    verdicts: list[Verdict]
    reasons: list[str]
    suggestions: list[str]

    def report_rows(self) -> list[tuple[int, str, Verdict, str, str]]:
        return list(zip(self.rows, self.emails, self.verdicts, self.reasons, self.suggestions, strict=True))


def written_by_csv_module(batch: Columns) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(batch.report_rows())
    return out.getvalue()


@given(st.lists(rows, max_size=30), st.integers(min_value=1, max_value=10**6))
def test_fast_writer_matches_the_csv_module(values: list[tuple[str, Verdict, str, str]], first: int) -> None:
    # Given a batch of any emails, reasons and suggestions (separators, quotes and line breaks included)
    batch = Columns(
        rows=range(first, first + len(values)),
        emails=[email for email, _, _, _ in values],
        verdicts=[verdict for _, verdict, _, _ in values],
        reasons=[reason for _, _, reason, _ in values],
        suggestions=[suggestion for _, _, _, suggestion in values],
    )

    # When the fast writer writes it
    out = io.StringIO(newline="")
    _write_batch(out, batch)

    # Then the text is byte for byte what csv.writer writes, and reads back to the same fields
    assert out.getvalue() == written_by_csv_module(batch)
    read_back = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert read_back == [[str(n), e, v.value, r, s] for n, e, v, r, s in batch.report_rows()]
