"""The words of listguard, in one place: flags, subscriptions, import statuses, and what an outcome does.

docs/vocabulary.md explains each word; code, docs and the console use exactly these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from listguard.verification import Outcome, Verdict

__all__ = [
    "FLAG_FOR_OUTCOME",
    "IMPORT_STATUS_FOR_OUTCOME",
    "AccountStanding",
    "EventType",
    "FlagStatus",
    "ImportStatus",
    "Outcome",
    "SubscriptionStatus",
    "Verdict",
    "higher_flag",
]


class FlagStatus(StrEnum):
    """Whether a contact may be mailed: ``none`` (sendable), ``pending`` (check running), ``declined``."""

    NONE = "none"
    PENDING = "pending"
    DECLINED = "declined"

    @property
    def rank(self) -> int:
        """How far the flag keeps a contact from being mailed: an import only ever raises it."""
        return _FLAG_RANK[self]


_FLAG_RANK: Mapping[FlagStatus, int] = {FlagStatus.NONE: 0, FlagStatus.PENDING: 1, FlagStatus.DECLINED: 2}


def higher_flag(current: FlagStatus | str, flag: FlagStatus | str) -> FlagStatus:
    """The flag a contact gets when ``flag`` is applied to it by an import: never lower than its own."""
    current, flag = FlagStatus(current), FlagStatus(flag)
    return current if current.rank > flag.rank else flag


class SubscriptionStatus(StrEnum):
    """``blocklisted`` covers unsubscribes, complaints, hard bounces and manual blocks: an import never
    re-subscribes such a contact and remediation never deletes one."""

    SUBSCRIBED = "subscribed"
    BLOCKLISTED = "blocklisted"


class ImportStatus(StrEnum):
    """Where an import is. ``received`` and ``verifying`` are transient; every other status is a rest."""

    RECEIVED = "received"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    VERIFYING = "verifying"
    IMPORTED = "imported"
    VALIDATED = "validated"
    DECLINED = "declined"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    #: Every attempt of the function failed (AWS errors): nothing was published; uploading the same
    #: file again retries at once.
    FAILED = "failed"

    @property
    def rests(self) -> bool:
        """Where an import stays until someone acts (every status but the transient two)."""
        return self not in (ImportStatus.RECEIVED, ImportStatus.VERIFYING)


#: What an outcome does to the import's contacts ...
FLAG_FOR_OUTCOME: Mapping[Outcome, FlagStatus] = {
    Outcome.VALIDATED: FlagStatus.NONE,
    Outcome.DECLINED: FlagStatus.DECLINED,
    Outcome.MANUAL_REVIEW: FlagStatus.PENDING,  # an operator decides later
}
#: ... and to the import.
IMPORT_STATUS_FOR_OUTCOME: Mapping[Outcome, ImportStatus] = {
    Outcome.VALIDATED: ImportStatus.VALIDATED,
    Outcome.DECLINED: ImportStatus.DECLINED,
    Outcome.MANUAL_REVIEW: ImportStatus.IN_REVIEW,
}


class AccountStanding(StrEnum):
    """An account's standing: repeated declined imports put it under review, then suspend it."""

    GOOD = "good"
    #: New imports are held for an operator.
    UNDER_REVIEW = "under_review"
    #: New imports are rejected.
    SUSPENDED = "suspended"


class EventType(StrEnum):
    """What a customer is told about: each event is an email, a notification-center record and an SNS
    message (attribute ``event_type``)."""

    CHECK_REQUIRED = "check_required"
    IMPORT_CANCELLED = "import_cancelled"
    IMPORT_VALIDATED = "import_validated"
    IMPORT_DECLINED = "import_declined"
    IMPORT_IN_REVIEW = "import_in_review"
    REVIEW_VALIDATED = "review_validated"
    REVIEW_DECLINED = "review_declined"
    IMPORT_FAILED = "import_failed"
    STANDING_CHANGED = "standing_changed"
    # -- remediation --
    #: The declined segment is exported: a download link, and how to confirm the delete.
    EXPORT_READY = "export_ready"
    #: No confirmation came before the deadline: nothing was deleted.
    REMEDIATION_TIMED_OUT = "remediation_timed_out"
    #: Deleted, cleaned, and reimported (or the clean list is ready to download).
    REMEDIATION_FINISHED = "remediation_finished"
    #: A step failed after its retries; nothing is lost, and a retry resumes where it stopped.
    REMEDIATION_FAILED = "remediation_failed"
    CAMPAIGN_PAUSED = "campaign_paused"
    #: A step of the campaign failed after its retries; nobody was mailed twice, and
    #: ``campaigns send`` resumes it where it stopped.
    CAMPAIGN_FAILED = "campaign_failed"


class CampaignStatus(StrEnum):
    """Where a campaign is (docs/vocabulary.md draws the transitions)."""

    DRAFT = "draft"
    #: ``campaigns send`` asked for it; the campaign state machine is starting.
    QUEUED = "queued"
    #: Its sample of never-mailed contacts is being sent ...
    SAMPLING = "sampling"
    #: ... and the observation window is open: bounces and complaints come back.
    OBSERVING = "observing"
    #: Going out to everyone (no sample was needed, or the sample was under the thresholds).
    SENDING = "sending"
    #: The sample was over a threshold: the unsent new contacts are held for a verification check;
    #: a remediation's mark lets the requeue job send the rest.
    PAUSED = "paused"
    SENT = "sent"
    #: A step failed after its retries; `campaigns send` resumes it (nobody is mailed twice).
    FAILED = "failed"


class SendState(StrEnum):
    """A ledger entry: one contact, one campaign."""

    #: Written before SES is called; SES has not answered yet (or the sender stopped there).
    CLAIMED = "claimed"
    SENT = "sent"
    #: SES did not answer (or answered with a server error): the email may have gone out. It is never
    #: sent again (at most once); `campaigns show` counts these.
    UNKNOWN = "unknown"


class SendPhase(StrEnum):
    """Which part of a campaign sent an email: its sample, the rest, or the requeue after a pause."""

    SAMPLE = "sample"
    MAIN = "main"
    REQUEUE = "requeue"
