"""Records and events as typed models: what the stores return and what the flows publish.

Stores turn DynamoDB items into these; the console and the demo read these, never raw items.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from listguard.domain.vocabulary import FlagStatus, ImportStatus, Outcome, SubscriptionStatus


class _Record(BaseModel):
    # Items carry keys and bookkeeping (pk, gsi keys, leases) that the models leave out.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Contact(_Record):
    """One contact of an account. ``email_key`` (the normalised address) is its identity."""

    account: str
    email: str
    email_key: str
    flag_status: FlagStatus
    subscription_status: SubscriptionStatus
    #: The imported columns other than the address, header -> value (empty values dropped).
    attributes: dict[str, str] = Field(default_factory=dict)
    #: The last import that wrote the contact, its row there and the row's verdict.
    import_id: str | None = None
    row: int | None = None
    verdict: str | None = None
    #: The import whose outcome set the current flag (None while the contact is sendable).
    flagged_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    #: Bumped by every write: writers read it and write only if it is unchanged (optimistic locking).
    rev: int = 0

    @property
    def sendable(self) -> bool:
        return (
            self.flag_status is FlagStatus.NONE and self.subscription_status is SubscriptionStatus.SUBSCRIBED
        )


class ImportRecord(_Record):
    """One import: its file (``etag``), where it is (``status``) and, once checked, the results."""

    account: str
    import_id: str
    status: ImportStatus
    etag: str | None = None
    source_key: str | None = None
    received_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    outcome: Outcome | None = None
    verification_required: bool | None = None
    rows: int | None = None
    new_contacts: int | None = None
    existing_contacts: int | None = None
    contacts_written: int | None = None
    flag_status: FlagStatus | None = None
    verdicts: dict[str, int] = Field(default_factory=dict)
    predicted_bounce_rate: float | None = None
    reasons: list[str] = Field(default_factory=list)
    summary_key: str | None = None
    rows_report_key: str | None = None
    contact_count_after: int | None = None
    #: Why the import was rejected or failed: one line, never an address or row content.
    error: str | None = None


class AccountProfile(_Record):
    account: str
    contact_count: int = 0


class ImportFlagged(BaseModel):
    """Published on the flag topic when an import's outcome flags its contacts (integrations read it).

    Consumers may deduplicate on ``account_id`` + ``import_id`` + ``etag``.
    """

    event_type: Literal["import_flagged"] = "import_flagged"
    account_id: str
    import_id: str
    etag: str
    outcome: Outcome
    flag_status: FlagStatus
    contacts: int
    reasons: list[str]
    summary_key: str

    def message_attributes(self) -> dict[str, Any]:
        """SNS message attributes: integrations filter on them without parsing the message."""
        return {
            "event_type": {"DataType": "String", "StringValue": self.event_type},
            "account_id": {"DataType": "String", "StringValue": self.account_id},
        }
