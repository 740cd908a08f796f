"""One repository per aggregate, all on the one table: contacts, imports, accounts."""

from listguard.stores.accounts import AccountSnapshot, AccountStore
from listguard.stores.contacts import ContactStore, ContactWrite, ImportStamp, MergeTally
from listguard.stores.dynamo import ConditionFailedError, Table
from listguard.stores.imports import RESULT_FIELDS, Claim, ImportStore, utc_now_iso

__all__ = [
    "RESULT_FIELDS",
    "AccountSnapshot",
    "AccountStore",
    "Claim",
    "ConditionFailedError",
    "ContactStore",
    "ContactWrite",
    "ImportStamp",
    "ImportStore",
    "MergeTally",
    "Table",
    "utc_now_iso",
]
