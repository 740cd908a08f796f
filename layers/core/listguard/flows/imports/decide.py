"""Stage 2 of an import: what the check's report means for the import and its contacts."""

from __future__ import annotations

from dataclasses import dataclass

from listguard.domain.vocabulary import FLAG_FOR_OUTCOME, IMPORT_STATUS_FOR_OUTCOME, FlagStatus, ImportStatus
from listguard.verification import ImportReport, Outcome


@dataclass(frozen=True)
class Decision:
    status: ImportStatus
    #: The flag the import gives its contacts (never lower than a contact's own: see ContactStore).
    flag: FlagStatus
    #: The check's outcome, when a check was required (the report computes one for every file).
    outcome: Outcome | None

    @property
    def flags_contacts(self) -> bool:
        return self.flag is not FlagStatus.NONE


def decide(report: ImportReport) -> Decision:
    """A check is applied only when the published rule requires one; otherwise the import is sendable."""
    if not report.verification_required:
        return Decision(status=ImportStatus.IMPORTED, flag=FlagStatus.NONE, outcome=None)
    return Decision(
        status=IMPORT_STATUS_FOR_OUTCOME[report.outcome],
        flag=FLAG_FOR_OUTCOME[report.outcome],
        outcome=report.outcome,
    )
