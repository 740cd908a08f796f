"""One repository per aggregate, all on the one table: contacts, imports, accounts."""

from listguard.stores.accounts import AccountStore
from listguard.stores.contacts import ContactStore, ContactWrite, ImportStamp, MergeTally
from listguard.stores.dynamo import ConditionFailedError, Table
from listguard.stores.imports import RESULT_FIELDS, Claim, ImportStore, utc_now_iso
from listguard.stores.notifications import NotificationStore

# -- remediation --
from listguard.stores.remediations import RemediationStore
from listguard.stores.tombstones import DeleteOutcome, ExportedContact, Tombstone, TombstoneStore

__all__ = [
    "RESULT_FIELDS",
    "AccountStore",
    "Claim",
    "ConditionFailedError",
    "ContactStore",
    "ContactWrite",
    "DeleteOutcome",
    "ExportedContact",
    "ImportStamp",
    "ImportStore",
    "MergeTally",
    "NotificationStore",
    "RemediationStore",
    "Table",
    "Tombstone",
    "TombstoneStore",
    "utc_now_iso",
]
