"""The verification engine: pure Python, no AWS. The console and the import_check Lambda share it."""

from .classify import normalize_address
from .engine import Verification, default_workers
from .errors import UnusableFileError
from .model import (
    BOUNCE_VERDICTS,
    REPORT_COLUMNS,
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
    "REPORT_COLUMNS",
    "Batch",
    "BOUNCE_VERDICTS",
    "ImportReport",
    "Outcome",
    "Policy",
    "Reason",
    "RowResult",
    "UnusableFileError",
    "Verdict",
    "Verification",
    "default_workers",
    "normalize_address",
    "VerifyOptions",
]
