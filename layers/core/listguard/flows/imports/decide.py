"""Stage 2 of an import: what the check's report and the account's standing mean for the import."""

from __future__ import annotations

from dataclasses import dataclass

from listguard.domain.vocabulary import (
    FLAG_FOR_OUTCOME,
    IMPORT_STATUS_FOR_OUTCOME,
    AccountStanding,
    FlagStatus,
    ImportStatus,
)
from listguard.verification import ImportReport, Outcome

HELD_FOR_REVIEW = (
    "your account is under review after repeated declined imports: an operator decides on each import"
)
SUSPENDED = (
    "your account is suspended after repeated declined imports: imports are refused until an operator "
    "reinstates it; contact support"
)


@dataclass(frozen=True)
class Decision:
    #: Where the import rests once its contacts are written.
    status: ImportStatus
    #: The flag the import gives its contacts (never lower than a contact's own: see ContactStore).
    flag: FlagStatus
    #: The check's outcome, when a check was required (the report computes one for every file).
    outcome: Outcome | None
    #: A check is required: nothing is imported until the customer continues.
    needs_confirmation: bool = False
    #: Why an operator must decide, when the standing (not the check) says so.
    review_reason: str | None = None

    @property
    def applies_at_once(self) -> bool:
        """No one needs to answer: the contacts can be written now, with their final flag."""
        return not self.needs_confirmation and self.status is not ImportStatus.IN_REVIEW


def decide(report: ImportReport, standing: AccountStanding = AccountStanding.GOOD) -> Decision:
    """A check is applied only when the published rule requires one; an account under review has every
    import held for an operator (its contacts pending meanwhile)."""
    if report.verification_required:
        decision = Decision(
            status=IMPORT_STATUS_FOR_OUTCOME[report.outcome],
            flag=FLAG_FOR_OUTCOME[report.outcome],
            outcome=report.outcome,
            needs_confirmation=True,
        )
    else:
        decision = Decision(status=ImportStatus.IMPORTED, flag=FlagStatus.NONE, outcome=None)
    if standing is AccountStanding.UNDER_REVIEW:
        return Decision(
            status=ImportStatus.IN_REVIEW,
            flag=FlagStatus.PENDING,
            outcome=decision.outcome,
            needs_confirmation=decision.needs_confirmation,
            review_reason=HELD_FOR_REVIEW,
        )
    return decision
