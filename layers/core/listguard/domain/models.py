"""Records and events as typed models: what the stores return and what the flows publish.

Stores turn DynamoDB items into these; the console and the demo read these, never raw items.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from listguard.domain.vocabulary import (
    AccountStanding,
    CampaignStatus,
    EventType,
    FlagStatus,
    ImportStatus,
    Outcome,
    SendPhase,
    SendState,
    SubscriptionStatus,
)


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
    # -- the lifecycle (the import state machine) --
    #: The status the import gets once its contacts are written, and the flag they get.
    decided_status: ImportStatus | None = None
    #: Whether the customer must continue (a check is required) before anything is imported.
    needs_confirmation: bool | None = None
    #: Why an operator must decide (the check's outcome, or the account's standing).
    review_reason: str | None = None
    chunks: int | None = None
    #: Chunk number -> contacts written and contacts created, as each chunk is written.
    chunk_written: dict[str, int] = Field(default_factory=dict)
    chunk_created: dict[str, int] = Field(default_factory=dict)
    #: New contacts of this file, added once to the account's counter.
    contacts_created: int | None = None
    execution_name: str | None = None
    confirmation_deadline: str | None = None
    confirmed_at: str | None = None
    cancelled_reason: str | None = None
    entered_review_at: str | None = None
    review_decision: str | None = None
    review_note: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    #: The customer's answers to the support team's questions.
    answers: dict[str, str] = Field(default_factory=dict)


class AccountProfile(_Record):
    """An account: where its notifications go, its list size and its standing."""

    account: str
    #: The customer's own address: the only one any notification is sent to.
    email: str | None = None
    contact_count: int = 0
    standing: AccountStanding = AccountStanding.GOOD
    #: Import id -> when it was declined (the standing counts those within its window).
    declines: dict[str, str] = Field(default_factory=dict)
    #: Declines before this moment no longer count (an operator reset the standing).
    standing_reset_at: str | None = None
    rev: int = 0


class AuditEntry(_Record):
    """One change of an account's standing: who made it, when, and why."""

    account: str
    at: str
    who: str
    why: str
    standing_before: AccountStanding
    standing_after: AccountStanding


class Notification(_Record):
    """One event told to a customer: in the notification center, by email and on SNS."""

    notification_id: str
    account_id: str
    event_type: EventType
    #: What happened, e.g. ``import:acme:leads:<etag>:check_required``: the id is derived from it.
    event_key: str
    subject: str
    text: str
    created_at: str
    read: bool = False
    #: Values of the event for integrations (ids, counts, rules; never a contact's address).
    data: dict[str, Any] = Field(default_factory=dict)
    email_status: str = "pending"
    sns_status: str = "pending"


# -- campaigns ------------------------------------------------------------------------------------


class Campaign(_Record):
    """One campaign of an account: what it says, to whom, and how far its sending and its check are."""

    account: str
    campaign_id: str
    status: CampaignStatus
    subject: str
    text: str
    html: str | None = None
    sender: str
    #: Imported column -> value: only contacts whose columns match them all (empty: the whole list).
    segment: dict[str, str] = Field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    #: How many times `campaigns send` started it (a failed campaign is resumed by a new attempt).
    attempts: int = 0
    execution_name: str | None = None
    # -- prepared once, before the first email --
    prepared_at: str | None = None
    #: Sendable contacts of the target, and those never mailed, when it was prepared.
    target_count: int | None = None
    new_count: int | None = None
    #: Contacts in the sample (0: no sample, the campaign went to everyone at once).
    sample_size: int = 0
    #: The thresholds in force when it was prepared (the decision uses these).
    hard_bounce_rate_to_pause: float | None = None
    complaint_rate_to_pause: float | None = None
    observation_window_seconds: int | None = None
    # -- the sample and its observation window --
    sample_sent: int | None = None
    window_ends_at: str | None = None
    evaluate_requested_at: str | None = None
    sample_hard_bounces: int = 0
    sample_complaints: int = 0
    sample_soft_bounces: int = 0
    decision: str | None = None
    decision_reasons: list[str] = Field(default_factory=list)
    decided_at: str | None = None
    # -- every email's feedback (SES bounce and complaint notifications) --
    hard_bounces: int = 0
    complaints: int = 0
    soft_bounces: int = 0
    # -- a pause: the contacts it holds and their verification check --
    paused_at: str | None = None
    pauses: int = 0
    check_import_id: str | None = None
    held_count: int | None = None
    check_status: str | None = None
    check_settled_at: str | None = None
    # -- the requeue: a remediation marks it, the scheduled job sends the rest --
    requeue_requested_by: str | None = None
    requeue_requested_at: str | None = None
    requeued_by: str | None = None
    requeued_at: str | None = None
    #: Where an unfinished requeue pass goes on from, and the still-flagged contacts it met so far.
    requeue_cursor: str | None = None
    requeue_flagged: int = 0
    #: Contacts of the target still ``pending`` at the last requeue pass: the campaign waits for them.
    still_flagged: int | None = None
    finished_at: str | None = None
    #: Where the loops of bounded invocations stand: the last contact key done, "" once done.
    loop_sample: str | None = None
    loop_main: str | None = None
    loop_hold: str | None = None
    #: Why the last attempt failed: one line, never an address.
    error: str | None = None
    failed_from: CampaignStatus | None = None


class SendRecord(_Record):
    """One entry of a campaign's send ledger: one contact, written before SES is called."""

    account: str
    campaign_id: str
    email: str
    email_key: str
    phase: SendPhase
    state: SendState
    claimed_at: str | None = None
    #: The attempt that wrote the entry (an attempt resumes only its own entries, never another's).
    claim: str | None = None
    message_id: str | None = None
    sent_at: str | None = None
    #: The error code SES answered with (``unknown`` entries).
    error: str | None = None
    hard_bounced_at: str | None = None
    complained_at: str | None = None
    soft_bounce_ids: list[str] = Field(default_factory=list)
