"""Every key listguard builds, in one module: object keys in S3 and item keys in DynamoDB.

Nothing else concatenates a key. docs/keys.md draws the layout. Two rules keep tenants apart:

- an account id is 1-64 letters, digits, ``-`` or ``_``, starting with a letter or digit, so it can
  never hold a key delimiter (``#`` in DynamoDB, ``/`` in S3) nor be ``.`` or ``..``;
- an import id comes from the file name by an injective rule (two object keys never share an import
  id) and never holds a delimiter either.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from listguard.domain.vocabulary import FlagStatus
from listguard.verification import normalize_address

IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "reports/"

ACCOUNT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ACCOUNT_ID_RULE = "1-64 letters, digits, '-' or '_', starting with a letter or digit"
#: Longest import id: keeps every derived S3 key far below S3's 1,024 bytes.
MAX_IMPORT_ID_LENGTH = 200
#: File extensions an import may have (any case). Only ``.csv`` in lower case is left out of the id.
IMPORT_EXTENSIONS = (".csv", ".txt")
_FORBIDDEN_IN_IMPORT_ID = frozenset("#/\\")

PROFILE_SK = "PROFILE"
_CONTACT = "CONTACT#"
_IMPORT = "IMPORT#"


class InvalidKeyError(ValueError):
    """An id or key that listguard refuses; the message is one line that says why and what to do."""


class NotAnImportKeyError(InvalidKeyError):
    """An object outside ``imports/<account>/<file>``: not an import at all (it is ignored)."""


def check_account_id(account: str) -> str:
    """The account id itself, or ``InvalidKeyError``."""
    if not ACCOUNT_ID_PATTERN.fullmatch(account):
        raise InvalidKeyError(f"account id {_shown(account)} is not allowed: use {ACCOUNT_ID_RULE}")
    return account


def import_id_for(file_name: str) -> str:
    """The import id of an uploaded file: ``<name>.csv`` -> ``<name>``; any other accepted name is kept
    whole (``list.TXT`` -> ``list.TXT``, ``list.txt.csv`` -> ``list.txt.csv``).

    Injective: a stripped id never ends in an accepted extension, a kept one always does, so two file
    names never share an id (``list.csv`` and ``list.TXT`` are two imports).
    """
    if not file_name.lower().endswith(IMPORT_EXTENSIONS):
        raise NotAnImportKeyError(
            f"{_shown(file_name)} is not an import file: name it <import-id>.csv (or .txt)"
        )
    stem = file_name.removesuffix(".csv")
    import_id = file_name if stem == file_name or stem.lower().endswith(IMPORT_EXTENSIONS) else stem
    return check_import_id(import_id)


def check_import_id(import_id: str) -> str:
    """The import id itself, or ``InvalidKeyError``."""
    if not import_id.strip() or import_id in {".", ".."}:
        raise InvalidKeyError("the file needs a name before its extension: <import-id>.csv")
    if len(import_id) > MAX_IMPORT_ID_LENGTH:
        raise InvalidKeyError(f"the file name is longer than {MAX_IMPORT_ID_LENGTH} characters: shorten it")
    if any(c in _FORBIDDEN_IN_IMPORT_ID or unicodedata.category(c) in {"Cc", "Cf"} for c in import_id):
        raise InvalidKeyError(
            "the file name holds '#', '\\' or a control character: rename it with letters, digits, "
            "spaces, '.', '-' or '_'"
        )
    return import_id


@dataclass(frozen=True)
class ImportRef:
    """One import: its account, its id, the object it came from, and where its reports go."""

    account: str
    import_id: str
    source_key: str

    @property
    def summary_key(self) -> str:
        return f"{REPORTS_PREFIX}{self.account}/{self.import_id}.json"

    @property
    def rows_report_key(self) -> str:
        return f"{REPORTS_PREFIX}{self.account}/{self.import_id}.rows.csv"


def parse_import_key(key: str) -> ImportRef:
    """``imports/<account>/<file>`` (already URL-decoded) -> its import.

    ``NotAnImportKeyError`` for objects outside that layout; ``InvalidKeyError`` for an import whose
    account id or file name is refused.
    """
    if not key.startswith(IMPORTS_PREFIX):
        raise NotAnImportKeyError(f"not under {IMPORTS_PREFIX}")
    parts = key.removeprefix(IMPORTS_PREFIX).split("/")
    if len(parts) != 2:
        raise NotAnImportKeyError("not at imports/<account>/<import-id>.csv")
    account, file_name = parts
    return ImportRef(check_account_id(account), import_id_for(file_name), key)


def import_object_key(account: str, file_name: str) -> str:
    """Where a customer (or the console) uploads an import file."""
    import_id_for(file_name)  # refuse a name that would be rejected after the upload
    return f"{IMPORTS_PREFIX}{check_account_id(account)}/{file_name}"


WORK_PREFIX = "work/"


def spool_prefix(account: str, import_id: str, etag: str) -> str:
    """Where an import's contacts wait between its check and their writing (expired by a lifecycle rule)."""
    return f"{WORK_PREFIX}{account}/{import_id}/{etag}/"


# -- DynamoDB: one table, pk/sk --------------------------------------------------------------------


def account_pk(account: str) -> str:
    return f"ACCOUNT#{account}"


def contact_key(address: str) -> str:
    """The identity of a contact: the engine's normalised address (duplicates and the blocklist use it)."""
    return normalize_address(address)


def contact_sk(key: str) -> str:
    return f"{_CONTACT}{key}"


def contact_key_of_sk(sk: str) -> str:
    return sk.removeprefix(_CONTACT)


CONTACT_SK_PREFIX = _CONTACT
SUPPRESSION_SK_PREFIX = "SUPPRESSION#"


def suppression_sk(contact_key: str) -> str:
    """An address the account blocklisted, whether or not it is a contact (yet)."""
    return f"{SUPPRESSION_SK_PREFIX}{contact_key}"


def suppressed_key_of_sk(sk: str) -> str:
    return sk.removeprefix(SUPPRESSION_SK_PREFIX)


AUDIT_SK_PREFIX = "AUDIT#"


CAMPAIGN_SK_PREFIX = "CAMPAIGN#"


def campaign_sk(campaign_id: str) -> str:
    """A campaign of the account (the campaigns flow owns its fields; remediation marks it for requeue)."""
    return f"{CAMPAIGN_SK_PREFIX}{campaign_id}"


def audit_sk(at: str, event_digest: str) -> str:
    """An audit entry of the account, ordered by time."""
    return f"{AUDIT_SK_PREFIX}{at}#{event_digest}"


IMPORT_SK_PREFIX = _IMPORT


def import_sk(import_id: str) -> str:
    return f"{_IMPORT}{import_id}"


def flag_index_pk(account: str, flag: FlagStatus) -> str:
    """gsi1 (sparse): the account's contacts with one flag; only flagged contacts are in it."""
    return f"ACCOUNT#{account}#FLAG#{flag}"


def flagged_by_index_pk(account: str, import_id: str) -> str:
    """gsi2 (sparse): the contacts whose current flag an import set (an operator's decision reaches them)."""
    return f"IMPORT#{account}#{import_id}"


#: gsi1: the operators' queue of imports in review, across accounts (sort key: when they entered it).
REVIEW_QUEUE_PK = "REVIEWS"


def review_queue_sk(entered_at: str, account: str, import_id: str) -> str:
    return f"{entered_at}#{account}#{import_id}"


def notifications_index_pk(account: str) -> str:
    """gsi1: the account's notification center, by creation time."""
    return f"ACCOUNT#{account}#NOTES"


def _shown(value: str, limit: int = 40) -> str:
    """A refused id in an error message: quoted, control characters escaped, cut to ``limit``."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)


# -- remediation: segment, export, delete, clean, reimport -----------------------------------------
#
# A remediation's id names its first execution: ``rem-`` and 24 hex digits of the account and the
# customer's request, so starting the same request twice finds the same remediation (and execution).
# The id never holds a delimiter; its record has its own partition (the console finds it by id alone).

REMEDIATION_ID_PATTERN = re.compile(r"rem-[0-9a-f]{24}")
EXPORT_ID_PATTERN = re.compile(r"exp-[0-9a-f]{24}")
#: A customer's request id (``remediate start --request-id``): what makes two starts the same one.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
REMEDIATION_SK = "REMEDIATION"
TOMBSTONE_SK_PREFIX = "TOMBSTONE#"
#: Exports bucket: what the customer downloads (export, clean list, clean report), per remediation.
REMEDIATIONS_PREFIX = "remediations/"
#: Imports bucket: the segment's snapshot between the segment and the clean (expires with work/).
REMEDIATION_WORK_PREFIX = f"{WORK_PREFIX}remediations/"
#: The clean list goes back through the import flow under this name: ``clean-<remediation id>``.
REIMPORT_NAME_PREFIX = "clean-"


def check_request_id(request_id: str) -> str:
    """A customer's request id (what makes a retried command the same request), or InvalidKeyError."""
    if not REQUEST_ID_PATTERN.fullmatch(request_id):
        raise InvalidKeyError(
            f"request id {_shown(request_id)} is not allowed: use 1-64 letters, digits, '-', '_', '.' or ':'"
        )
    return request_id


def remediation_id_for(account: str, request_id: str) -> str:
    """The remediation (and its first execution's name) of one request of an account."""
    check_account_id(account)
    check_request_id(request_id)
    digest = hashlib.sha256(f"{account}\n{request_id}".encode()).hexdigest()[:24]
    return f"rem-{digest}"


def check_remediation_id(value: str) -> str:
    """A remediation id, or the id of its export (``exp-...``): the remediation id, or InvalidKeyError."""
    if EXPORT_ID_PATTERN.fullmatch(value):
        return "rem-" + value.removeprefix("exp-")
    if not REMEDIATION_ID_PATTERN.fullmatch(value):
        raise InvalidKeyError(
            f"{_shown(value)} is not a remediation id: `listguard remediate start` prints one (rem-...)"
        )
    return value


def export_id_for(remediation_id: str) -> str:
    """A remediation's export: its id says which remediation it belongs to."""
    return "exp-" + check_remediation_id(remediation_id).removeprefix("rem-")


def remediation_pk(remediation_id: str) -> str:
    return f"REMEDIATION#{remediation_id}"


def remediation_execution_name(remediation_id: str, attempt: int) -> str:
    """The first attempt's execution is named after the remediation; a retry's gets a suffix."""
    return remediation_id if attempt == 1 else f"{remediation_id}-a{attempt}"


def export_object_key(account: str, remediation_id: str) -> str:
    return f"{REMEDIATIONS_PREFIX}{account}/{remediation_id}/export.csv"


def clean_list_key(account: str, remediation_id: str) -> str:
    return f"{REMEDIATIONS_PREFIX}{account}/{remediation_id}/clean.csv"


def clean_report_key(account: str, remediation_id: str) -> str:
    return f"{REMEDIATIONS_PREFIX}{account}/{remediation_id}/clean-report.csv"


def segment_chunk_key(account: str, remediation_id: str, index: int, writer: str) -> str:
    """One chunk of the segment's snapshot, written by one invocation (``writer``: its request id): two
    invocations racing on the same chunk never overwrite each other's; the record names the one kept."""
    safe_writer = re.sub(r"[^A-Za-z0-9-]", "", writer)[:64] or "w"
    return f"{REMEDIATION_WORK_PREFIX}{account}/{remediation_id}/segment-{index:05d}-{safe_writer}.jsonl.gz"


def reimport_file_name(remediation_id: str) -> str:
    """The clean list's file name in ``imports/<account>/``: its import id is ``clean-<remediation id>``."""
    return f"{REIMPORT_NAME_PREFIX}{remediation_id}.csv"


def address_hash(address: str) -> str:
    """A tombstone's only trace of an address: SHA-256 of its identity (the normalised address)."""
    return hashlib.sha256(normalize_address(address).encode()).hexdigest()


def tombstone_sk(hashed_address: str, remediation_id: str) -> str:
    """A deleted contact's tombstone, per remediation: a retried delete finds its own."""
    return f"{TOMBSTONE_SK_PREFIX}{hashed_address}#{remediation_id}"


# -- campaigns: the campaign id, the send ledger, the sample, the paused queue, the sending rate ------

CAMPAIGN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_LEDGER = "LEDGER#"
SEND_SK_PREFIX = "SEND#"
SAMPLE_SK_PREFIX = "SAMPLE#"
#: gsi1: the paused campaigns of every account, oldest first (the requeue job reads it).
PAUSED_CAMPAIGNS_PK = "CAMPAIGNS#PAUSED"
#: The one item that spreads the SES sending rate over every sender of the stack.
SENDING_RATE_KEY = {"pk": "SENDING_RATE", "sk": "SES"}


def check_campaign_id(campaign_id: str) -> str:
    """The campaign id itself, or ``InvalidKeyError`` (ids are generated ``c-<hex>``; the console checks)."""
    if not CAMPAIGN_ID_PATTERN.fullmatch(campaign_id):
        raise InvalidKeyError(
            f"campaign id {_shown(campaign_id)} is not allowed: `listguard campaigns list` shows the ids"
        )
    return campaign_id


def campaign_id_for(account: str, request_id: str) -> str:
    """The campaign that one request of an account creates (``campaigns create --request-id``): creating
    it again with the same request finds the same campaign, never a second one."""
    check_account_id(account)
    check_request_id(request_id)
    digest = hashlib.sha256(f"campaign\n{account}\n{request_id}".encode()).hexdigest()[:12]
    return f"c-{digest}"


def ledger_pk(account: str, campaign_id: str) -> str:
    """The send ledger of one campaign: one item per contact it was sent to (and its sample)."""
    return f"{_LEDGER}{account}#{campaign_id}"


def send_sk(contact_key: str) -> str:
    """A ledger entry: written before SES is called, so a contact gets a campaign at most once."""
    return f"{SEND_SK_PREFIX}{contact_key}"


def sample_sk(contact_key: str) -> str:
    """A contact of the campaign's sample (chosen before the first email goes out)."""
    return f"{SAMPLE_SK_PREFIX}{contact_key}"


def contact_key_of_ledger_sk(sk: str) -> str:
    return sk.split("#", 1)[1]


def paused_campaign_sk(paused_at: str, account: str, campaign_id: str) -> str:
    return f"{paused_at}#{account}#{campaign_id}"


def campaign_check_import_id(campaign_id: str, pause: int) -> str:
    """The import that checks the contacts a paused campaign holds (its file: ``<id>.csv``)."""
    return f"{campaign_id}-check-{pause}"


def campaign_check_object_key(account: str, campaign_id: str, pause: int) -> str:
    """Where that file is written: an ordinary upload, so the import lifecycle checks it."""
    return import_object_key(account, f"{campaign_check_import_id(campaign_id, pause)}.csv")
