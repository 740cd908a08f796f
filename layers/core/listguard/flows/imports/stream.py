"""Stage 1 of an import: stream the file through the verification engine.

Out come the per-row report (a local file, uploaded only once the import commits) and a spool of the
contacts to write (gzip JSON lines on local disk): nothing reaches DynamoDB or S3 here, so a file
that fails halfway leaves nothing behind.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from listguard.stores.contacts import ContactWrite
from listguard.verification import REPORT_HEADER, ImportReport, RowResult, Verdict, Verification


def contact_attributes(header: list[str], fields: list[str], email_index: int) -> dict[str, str]:
    """The row's other columns as header -> value; empty values dropped, unnamed columns numbered."""
    attributes: dict[str, str] = {}
    for index, raw in enumerate(fields):
        value = raw.strip()
        if index == email_index or not value:
            continue
        name = (header[index].strip() if index < len(header) else "") or f"column_{index + 1}"
        attributes[name] = value
    return attributes


class ContactSpool:
    """The contacts of an import, spooled to local disk while the file streams.

    gzip level 1: a contact is a few hundred bytes of JSON; compressed ~15-fold, the largest files'
    contacts fit in the function's /tmp, at ~400 MB/s of JSON.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] | None = gzip.open(path, "wt", encoding="utf-8", compresslevel=1)  # noqa: SIM115

    def add(self, writes: Iterable[ContactWrite]) -> None:
        assert self._file is not None, "the spool is closed"
        for write in writes:
            self._file.write(
                json.dumps([write.email, write.attributes, str(write.verdict), write.row]) + "\n"
            )
            self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __iter__(self) -> Iterator[ContactWrite]:
        self.close()
        with gzip.open(self.path, "rt", encoding="utf-8") as spool:
            for line in spool:
                email, attributes, verdict, row = json.loads(line)
                yield ContactWrite(email=email, attributes=attributes, verdict=Verdict(verdict), row=row)


@dataclass
class Streamed:
    """A file streamed through the check: its report, its row report file and its contacts."""

    report: ImportReport
    rows_path: Path
    contacts: ContactSpool


def stream(verification: Verification, work_dir: Path) -> Streamed:
    """Verify every row; write the row report and spool the importable rows' contacts."""
    header, email_index = list(verification.header), verification.email_index

    def contacts_of(batch: Iterable[RowResult]) -> Iterator[ContactWrite]:
        for result in batch:
            if result.verdict.importable:  # other rows are reported, never imported
                yield ContactWrite(
                    email=result.email.strip(),
                    attributes=contact_attributes(header, result.fields, email_index),
                    verdict=result.verdict,
                    row=result.row,
                )

    rows_path = work_dir / "rows.csv"
    spool = ContactSpool(work_dir / "contacts.jsonl.gz")
    try:
        with rows_path.open("w", newline="", encoding="utf-8", errors="replace") as rows_file:
            rows_file.write(REPORT_HEADER)
            for batch in verification.batches():
                rows_file.write(batch.report_csv())
                spool.add(contacts_of(batch))
    finally:
        spool.close()
    return Streamed(report=verification.report(), rows_path=rows_path, contacts=spool)
