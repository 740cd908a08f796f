"""The verification engine: pure Python, no AWS. The console and the import_check Lambda share it."""

from .engine import Verification
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
    "VerifyOptions",
]
