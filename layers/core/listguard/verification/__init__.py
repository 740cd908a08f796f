"""The verification engine: pure Python, no AWS. The console and the import_check Lambda share it."""

from .classify import normalize_address
from .engine import Verification, default_workers
from .errors import UnusableFileError
from .model import (
    BOUNCE_VERDICTS,
    REPORT_COLUMNS,
    REPORT_HEADER,
    Batch,
    ImportReport,
    Outcome,
    Reason,
    RowResult,
    Verdict,
    VerifyOptions,
)
from .policy import Policy

__all__ = [
    "BOUNCE_VERDICTS",
    "REPORT_COLUMNS",
    "REPORT_HEADER",
    "Batch",
    "ImportReport",
    "Outcome",
    "Policy",
    "Reason",
    "RowResult",
    "UnusableFileError",
    "Verdict",
    "Verification",
    "VerifyOptions",
    "default_workers",
    "normalize_address",
]
