"""The export's columns and cells (no AWS): every contact attribute, in any of the four separators,
formula-safe, and read back as written."""

from __future__ import annotations

import csv
import io

import pytest

from listguard.csvio import CsvWriter
from listguard.domain.remediation import SegmentChunk
from listguard.flows.remediation.export import ExportLayout

CONTACT = {
    "email": "=1+1@example.com",
    "email_key": "=1+1@example.com",
    "attributes": {"name": 'Zoë; "Z" Müller', "note": "-5 points\nsecond line"},
    "flag_status": "declined",
    "subscription_status": "subscribed",
    "rev": 3,
    "row": 7,
    "consent": {"source": "form"},
    "opted_in": True,
}


def test_the_columns_are_the_address_the_imported_columns_then_listguards_fields() -> None:
    chunks = [
        SegmentChunk(key="a", contacts=1, attributes=["name", "city"], fields=["rev", "zeta", "flag_status"]),
        SegmentChunk(key="b", contacts=1, attributes=["city", "note"], fields=["alpha", "row"]),
    ]

    layout = ExportLayout.of(chunks)

    assert layout.header == [
        "email",
        "name",
        "city",
        "note",
        "listguard.flag_status",
        "listguard.row",
        "listguard.rev",
        "listguard.alpha",
        "listguard.zeta",
    ]


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_a_row_in_each_separator_reads_back_and_runs_no_formula(separator: str) -> None:
    layout = ExportLayout(
        ["name", "city", "note"], ["flag_status", "rev", "row", "consent", "opted_in", "gone"]
    )
    out = io.StringIO()

    writer = CsvWriter(out, layout.header, delimiter=separator)
    writer.write_row(layout.row(CONTACT))

    [header, row] = list(csv.reader(io.StringIO(out.getvalue()), delimiter=separator))
    assert header == layout.header
    assert dict(zip(header, row, strict=True)) == {
        "email": "'=1+1@example.com",
        "name": 'Zoë; "Z" Müller',
        "city": "",
        "note": "'-5 points\nsecond line",
        "listguard.flag_status": "declined",
        "listguard.rev": "3",
        "listguard.row": "7",
        "listguard.consent": '{"source": "form"}',
        "listguard.opted_in": "true",
        "listguard.gone": "",
    }
