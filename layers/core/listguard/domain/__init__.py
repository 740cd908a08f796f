"""The domain: vocabulary, key layout and typed records. No AWS here."""

from listguard.domain.models import AccountProfile, AuditEntry, Contact, ImportRecord, Notification
from listguard.domain.vocabulary import (
    FLAG_FOR_OUTCOME,
    IMPORT_STATUS_FOR_OUTCOME,
    AccountStanding,
    EventType,
    FlagStatus,
    ImportStatus,
    Outcome,
    SubscriptionStatus,
    Verdict,
    higher_flag,
)

__all__ = [
    "FLAG_FOR_OUTCOME",
    "IMPORT_STATUS_FOR_OUTCOME",
    "AccountProfile",
    "AccountStanding",
    "AuditEntry",
    "Contact",
    "EventType",
    "FlagStatus",
    "ImportRecord",
    "ImportStatus",
    "Notification",
    "Outcome",
    "SubscriptionStatus",
    "Verdict",
    "higher_flag",
]
