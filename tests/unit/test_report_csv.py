"""The per-row report's fast CSV writer (``Batch.report_csv``) writes exactly what ``csv.writer`` would."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from listguard.verification import Batch, Verdict
from listguard.verification.reader import Records

# Text with the characters that need quoting in CSV, mixed with ordinary ones.
cells = st.text(alphabet=st.sampled_from('ab@.,"\r\n é\t'), max_size=12)
rows = st.tuples(cells, st.sampled_from(list(Verdict)), cells, cells)


def written_by_csv_module(batch: Batch) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(batch.report_rows())
    return out.getvalue()


@given(st.lists(rows, max_size=30), st.integers(min_value=1, max_value=10**6))
def test_fast_writer_matches_the_csv_module(values: list[tuple[str, Verdict, str, str]], first: int) -> None:
    # Given a batch of any emails, reasons and suggestions (separators, quotes and line breaks included)
    batch = Batch(
        rows=range(first, first + len(values)),
        emails=[email for email, _, _, _ in values],
        verdicts=[verdict for _, verdict, _, _ in values],
        reasons=[reason for _, _, reason, _ in values],
        suggestions=[suggestion for _, _, _, suggestion in values],
        records=Records("", ","),
    )

    # When the fast writer writes it
    text = batch.report_csv()

    # Then the text is byte for byte what csv.writer writes, and reads back to the same fields
    assert text == written_by_csv_module(batch)
    read_back = list(csv.reader(io.StringIO(text, newline="")))
    assert read_back == [[str(n), e, v.value, r, s] for n, e, v, r, s in batch.report_rows()]
