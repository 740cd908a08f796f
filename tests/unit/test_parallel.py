"""The screen in worker processes gives exactly what the same check gives in one process."""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from listguard.verification import Verification, VerifyOptions, engine
from listguard.verification.classify import Screened
from listguard.verification.model import Verdict, _row_numbers


def _contact_file() -> bytes:
    """More than 3 MiB: duplicates across blocks, quoted fields, invalid and malformed rows."""
    lines = ["email,name,opt_in"]
    for i in range(100_000):
        if i % 997 == 0:
            lines.append(f'"user{i}@acme.io","Last, First {i}",yes')  # a quoted separator
        elif i % 1_009 == 0:
            lines.append(f"USER{i // 3}@ACME.IO,copy of an earlier row,yes")  # a duplicate, maybe blocks back
        elif i % 1_013 == 0:
            lines.append(f"bad{i}@@acme.io,invalid,yes")
        elif i % 1_019 == 0:
            lines.append(f"user{i}@acme.io,too,many,fields")
        elif i % 1_021 == 0:
            lines.append(f"info@team{i % 7}.io,role,yes")
        elif i % 1_031 == 0:
            lines.append(f"blocked{i % 5}@acme.io,blocked,yes")
        elif i % 1_033 == 0:
            lines.append(f"user{i}@mailinator.com,disposable,no")
        elif i % 1_039 == 0:
            lines.append("n/a,no address,yes")  # the same invalid string on many rows
        elif i % 1_049 == 0:
            lines.append(f"user{i}@acme.io,no opt-in,no")
        elif i % 1_051 == 0:
            lines.append(f'"bad,{i}@acme.io",a quoted report cell,yes')
        elif i % 30_011 == 0:
            lines.append(f'"line\nbreak{i}@acme.io",a record over two lines,yes')
        else:
            lines.append(f"user{i}@acme.io,Person {i},yes")
    return ("\n".join(lines) + "\n").encode()


def _run(data: bytes, workers: int) -> tuple[list[tuple[object, ...]], str, dict[str, object]]:
    options = VerifyOptions(
        blocklist=frozenset({"Blocked1@acme.io", "blocked3@ACME.io"}), require_consent=True
    )
    verification = Verification(io.BytesIO(data), options=options, size=len(data), workers=workers)
    rows: list[tuple[object, ...]] = []
    report_csv: list[str] = []
    for batch in verification.batches():
        rows.extend(tuple(row) for row in batch)
        report_csv.append(batch.report_csv())
    return rows, "".join(report_csv), verification.report().model_dump()


# Under pytest-xdist this process runs threads of its own when the engine forks its workers.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_workers_give_the_same_rows_and_report(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a multi-block file, and workers switched on for small files
    data = _contact_file()
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    in_workers = engine._WorkerScreen.__iter__
    blocks_in_workers: list[object] = []

    def spy(self: Any) -> Iterator[Any]:
        for result in in_workers(self):
            blocks_in_workers.append(result)
            yield result

    monkeypatch.setattr(engine._WorkerScreen, "__iter__", spy)
    # When it is checked in one process and with two workers
    serial = _run(data, workers=1)
    parallel = _run(data, workers=2)
    # Then every row, the rows file and the report are the same
    rows, _, report = serial
    assert len(blocks_in_workers) >= 2  # the blocks after the first one
    assert parallel == serial
    assert len(rows) == 100_000
    assert {Verdict(verdict) for _, _, verdict, *_ in rows} >= {
        Verdict.VALID,
        Verdict.DUPLICATE,
        Verdict.INVALID_SYNTAX,
        Verdict.MALFORMED_ROW,
        Verdict.ROLE_ACCOUNT,
        Verdict.BLOCKLISTED,
        Verdict.DISPOSABLE,
        Verdict.MISSING_CONSENT,
    }
    assert report["rows"] == 100_000


@pytest.mark.parametrize(
    "emails",
    [[], [""], ["", ""], ["a@b.io", "A@B.IO"], ["line\nbreak@b.io", "c@d.io"]],
    ids=["none", "one-empty", "two-empty", "plain", "line-break"],
)
def test_screened_survives_pickling(emails: list[str]) -> None:
    # Given a screen result (sent back from a worker as joined text when it can be)
    screened = Screened(emails, [email.lower() for email in emails], [(0, Verdict.INVALID_SYNTAX, "why", "")])
    # When pickled and unpickled / Then it is unchanged
    assert pickle.loads(pickle.dumps(screened)) == screened


@pytest.mark.parametrize(
    ("start", "stop"),
    [(1, 1), (1, 2), (1, 1000), (1, 1001), (999, 1001), (1000, 3001), (2999, 4000), (16_001, 32_500)],
)
def test_row_numbers(start: int, stop: int) -> None:
    assert list(_row_numbers(range(start, stop))) == list(map(str, range(start, stop)))
