"""The verification engine: pure Python, no AWS. The console and the import_check Lambda share it."""

from .classify import BLOCKLIST_LOOKUP_MAX, BlocklistLookup, normalize_address
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
    "BLOCKLIST_LOOKUP_MAX",
    "BOUNCE_VERDICTS",
    "REPORT_COLUMNS",
    "REPORT_HEADER",
    "Batch",
    "BlocklistLookup",
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
