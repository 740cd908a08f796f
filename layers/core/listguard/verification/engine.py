"""The verification check over one import file: stream the rows, give each a verdict, report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .model import ImportReport, RowResult, VerifyOptions
from .policy import Policy


class Verification:
    """One pass over one file. Sniffs on construction; ``batches()`` streams; then ``report()``.

    Construction raises ``UnusableFileError`` when the file cannot be used at all.
    """

    encoding: str
    separator: str
    email_column: str
    header: list[str]
    bytes_read: int  # for progress bars

    def __init__(
        self,
        stream: BinaryIO,
        *,
        options: VerifyOptions | None = None,
        policy: Policy | None = None,
        size: int | None = None,
    ) -> None:
        raise NotImplementedError  # being written in this session

    def batches(self) -> Iterator[list[RowResult]]:
        raise NotImplementedError

    def report(self) -> ImportReport:
        raise NotImplementedError
