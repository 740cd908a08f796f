"""A remediation: the declined contacts of an account are exported, deleted once the customer confirms
the count, cleaned, and reimported through the import flow. Its record says where it is.

Statuses follow one order (``RemediationStatus.rank``); each step of the state machine moves the record
forward, never back, and a step that finds the record past its own stage has nothing left to do. So a
replayed or retried step, or a whole retried execution, changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RemediationStatus(StrEnum):
    """Where a remediation is (docs/vocabulary.md)."""

    #: The record exists; its execution is starting.
    STARTED = "started"
    #: Reading the segment (declined AND subscribed) page by page into a snapshot.
    SEGMENTING = "segmenting"
    #: Writing the export (then announcing it).
    EXPORTING = "exporting"
    #: The export is announced; the execution waits for the customer to type the count.
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    #: Confirmed: checking the export, then deleting exactly the exported contacts.
    DELETING = "deleting"
    #: Dropping invalid and unengaged contacts from the export: the clean list and its report.
    CLEANING = "cleaning"
    #: Reimporting the clean list (with consent attested) and marking the campaign for requeue.
    FINISHING = "finishing"
    #: Everything is done.
    DONE = "done"
    #: The segment was empty: nothing to export or delete.
    NOTHING_TO_DO = "nothing_to_do"
    #: No confirmation before the deadline: nothing was deleted.
    TIMED_OUT = "timed_out"
    #: A step failed after its retries; ``resume_status`` says where a retry resumes.
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """How far along the flow; the final statuses rank last."""
        return _ORDER.index(self)

    @property
    def final(self) -> bool:
        return self in _FINAL


_ORDER = list(RemediationStatus)
_FINAL = frozenset(
    {
        RemediationStatus.DONE,
        RemediationStatus.NOTHING_TO_DO,
        RemediationStatus.TIMED_OUT,
        RemediationStatus.FAILED,
    }
)


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SegmentChunk(_Part):
    """One chunk of the segment's snapshot (gzip JSON lines in the exports bucket's work/ prefix)."""

    key: str
    contacts: int
    #: The imported columns its contacts hold, in the order first seen.
    attributes: list[str] = Field(default_factory=list)
    #: The contact fields listguard and other flows wrote (flag, subscription, dates, ...).
    fields: list[str] = Field(default_factory=list)


class ExportFile(_Part):
    """The export: one version of one object, exactly what the customer confirmed the delete of."""

    export_id: str
    key: str
    version_id: str
    rows: int
    bytes: int
    sha256: str
    separator: str
    columns: int


class DeleteTally(_Part):
    """What the delete did, chunk by chunk (``next_chunk``: where it goes on)."""

    next_chunk: int = 0
    deleted: int = 0
    #: Changed since the export (another import, a blocklist, a flag): left as they are.
    left_changed: int = 0
    #: Already gone when the delete reached them (deleted by someone else).
    already_gone: int = 0


class CleanResult(_Part):
    kept: int
    removed: dict[str, int] = Field(default_factory=dict)
    clean_key: str
    clean_version_id: str
    report_key: str
    report_version_id: str


class Remediation(BaseModel):
    """The record of one remediation (its own item: ``REMEDIATION#<id>`` / ``REMEDIATION``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    remediation_id: str
    account: str
    request_id: str
    status: RemediationStatus
    #: Executions so far: a retry after a failure is the next attempt (its own execution name).
    attempt: int = 1
    execution_name: str
    separator: str = ","
    campaign_id: str | None = None
    consent_attested: bool = False
    requested_at: str
    updated_at: str | None = None
    finished_at: str | None = None
    # -- segment --
    count: int | None = None
    segment_chunks: list[SegmentChunk] = Field(default_factory=list)
    # -- export and confirmation --
    export: ExportFile | None = None
    link_expires_at: str | None = None
    confirmation_deadline: str | None = None
    confirmed_count: int | None = None
    confirmed_at: str | None = None
    # -- delete --
    export_verified_at: str | None = None
    deleted: DeleteTally = Field(default_factory=DeleteTally)
    # -- clean, reimport, requeue --
    clean: CleanResult | None = None
    cleaned_at: str | None = None
    reimport_import_id: str | None = None
    #: Why the clean list was not reimported (no consent attested, or nothing left to import).
    reimport_skipped: str | None = None
    #: ``marked`` (the campaign carries the mark) or ``campaign_missing`` (it was deleted meanwhile).
    requeue: str | None = None
    # -- failures --
    error: str | None = None
    resume_status: RemediationStatus | None = None

    @property
    def awaiting(self) -> str | None:
        return "delete_confirmation" if self.status is RemediationStatus.AWAITING_CONFIRMATION else None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Remediation:
        return cls.model_validate(item)
