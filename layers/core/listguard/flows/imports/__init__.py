"""The import flow: stream (verify), decide, commit; and what happens when every attempt failed."""

from listguard.flows.imports.check import (
    ImportCheck,
    ImportCheckResult,
    ImportedObject,
    Services,
    check_imports,
)
from listguard.flows.imports.failures import DestinationRecord, FailedImport, record_failures

__all__ = [
    "DestinationRecord",
    "FailedImport",
    "ImportCheck",
    "ImportCheckResult",
    "ImportedObject",
    "Services",
    "check_imports",
    "record_failures",
]
