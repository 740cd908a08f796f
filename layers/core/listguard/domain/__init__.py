"""The domain: vocabulary, key layout and typed records. No AWS here."""

from listguard.domain.models import AccountProfile, Contact, ImportFlagged, ImportRecord
from listguard.domain.vocabulary import (
    FLAG_FOR_OUTCOME,
    IMPORT_STATUS_FOR_OUTCOME,
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
    "Contact",
    "FlagStatus",
    "ImportFlagged",
    "ImportRecord",
    "ImportStatus",
    "Outcome",
    "SubscriptionStatus",
    "Verdict",
    "higher_flag",
]
