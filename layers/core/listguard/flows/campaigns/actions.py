"""What customers and operators do with campaigns (the console calls these): create one, send it, follow
it, end its observation window early. Each is one conditional change of the campaign, safe to repeat.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from email_validator import EmailNotValidError, validate_email

from listguard.domain import keys
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus, SendState
from listguard.flows.campaigns.steps import CampaignServices
from listguard.stores.dynamo import ConditionFailedError
from listguard.stores.ledger import LedgerCounts

#: A campaign's subject and bodies fit one item with room to spare (DynamoDB: 400 KB).
MAX_SUBJECT_CHARACTERS = 998
MAX_BODY_BYTES = 150_000


class CampaignError(Exception):
    """An action that cannot be taken now; the message says why and what to do (the console's error)."""


def new_campaign_id() -> str:
    return f"c-{secrets.token_hex(6)}"


def execution_name(account: str, campaign_id: str, attempt: int) -> str:
    """One execution per attempt: starting it again finds the same execution."""
    digest = hashlib.sha256(f"{account}/{campaign_id}/{attempt}".encode()).hexdigest()[:40]
    return f"campaign-{digest}"


@dataclass(frozen=True)
class CampaignView:
    """A campaign with its ledger counted: what `campaigns show` prints."""

    campaign: Campaign
    counts: LedgerCounts

    def document(self) -> dict[str, Any]:
        c, counts = self.campaign, self.counts
        sent = counts.sent
        sample = None
        if c.sample_size:
            sample_sent = (
                c.sample_sent if c.sample_sent is not None else counts.sent_by_phase.get("sample", 0)
            )
            sample = {
                "size": c.sample_size,
                "sent": sample_sent,
                "hard_bounces": c.sample_hard_bounces,
                "complaints": c.sample_complaints,
                "soft_bounces": c.sample_soft_bounces,
                "bounce_rate": _rate(c.sample_hard_bounces, sample_sent),
                "complaint_rate": _rate(c.sample_complaints, sample_sent),
                "window_ends_at": c.window_ends_at,
                "decision": c.decision,
                "reasons": c.decision_reasons,
            }
        if c.status in (CampaignStatus.SENT, CampaignStatus.DRAFT, CampaignStatus.QUEUED):
            remaining = 0 if c.status is CampaignStatus.SENT else c.target_count
        else:
            remaining = max(0, (c.target_count or 0) - counts.entries)
        return {
            "campaign_id": c.campaign_id,
            "account": c.account,
            "status": str(c.status),
            "subject": c.subject,
            "sender": c.sender,
            "segment": c.segment,
            "created_at": c.created_at,
            "target": c.target_count,
            "new_contacts": c.new_count,
            "sent": sent,
            "unknown": counts.unknown,
            "remaining": remaining,
            "sent_by_phase": counts.sent_by_phase,
            "sample": sample,
            "bounce_rate": _rate(c.hard_bounces, sent),
            "complaint_rate": _rate(c.complaints, sent),
            "hard_bounces": c.hard_bounces,
            "complaints": c.complaints,
            "soft_bounces": c.soft_bounces,
            "thresholds": {
                "hard_bounce_rate_to_pause": c.hard_bounce_rate_to_pause,
                "complaint_rate_to_pause": c.complaint_rate_to_pause,
            },
            "check": {
                "import_id": c.check_import_id,
                "held": c.held_count,
                "status": c.check_status,
            }
            if c.check_import_id
            else None,
            "requeue": {
                "requested_by": c.requeue_requested_by,
                "requested_at": c.requeue_requested_at,
                "requeued_by": c.requeued_by,
                "requeued_at": c.requeued_at,
                "still_flagged": c.still_flagged,
            }
            if c.requeue_requested_by or c.requeued_at
            else None,
            "error": c.error,
        }


class Campaigns:
    def __init__(self, services: CampaignServices, *, state_machine_arn: str, sender_domain: str) -> None:
        self.s = services
        self._state_machine_arn = state_machine_arn
        self._sender_domain = sender_domain

    def create(
        self,
        account: str,
        *,
        subject: str,
        text: str,
        html: str | None = None,
        sender: str | None = None,
        segment: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> Campaign:
        """A draft campaign. Without ``sender`` it comes from ``<account>@`` the platform's verified
        sending domain. With ``request_id`` the campaign's id comes from the account and the request:
        creating it again (a retried command) finds the same campaign, and a different campaign for the
        same request is refused."""
        keys.check_account_id(account)
        campaign_id = keys.campaign_id_for(account, request_id) if request_id else new_campaign_id()
        if not subject.strip() or len(subject) > MAX_SUBJECT_CHARACTERS:
            raise CampaignError(f"give a subject of 1 to {MAX_SUBJECT_CHARACTERS} characters")
        if "\n" in subject or "\r" in subject:
            raise CampaignError("the subject is one line: remove its line breaks")
        if not text.strip():
            raise CampaignError("give the text body (--text): every email has a plain-text part")
        if len((text + (html or "")).encode()) > MAX_BODY_BYTES:
            raise CampaignError(f"the bodies are over {MAX_BODY_BYTES:,} bytes together: shorten them")
        from_address = sender or f"{account}@{self._sender_domain}"
        try:
            validate_email(from_address, check_deliverability=False)
        except EmailNotValidError as error:
            raise CampaignError(f"the sender {from_address!r} is not an email address ({error})") from None
        now = self.s.clock()
        campaign = Campaign(
            account=account,
            campaign_id=campaign_id,
            status=CampaignStatus.DRAFT,
            subject=subject.strip(),
            text=text,
            html=html or None,
            sender=from_address,
            segment=dict(segment or {}),
            created_at=now,
            updated_at=now,
        )
        if request_id is None:
            self.s.campaigns.create(campaign)
            return campaign
        with contextlib.suppress(ConditionFailedError):  # created by this request before
            self.s.campaigns.create(campaign)
        existing = self.get(account, campaign_id)
        if _content(existing) != _content(campaign):
            raise CampaignError(
                f"campaign {campaign_id} was created for request {request_id} with another subject, body, "
                "sender or segment: give another --request-id to create another campaign"
            )
        return existing

    def start(self, account: str, campaign_id: str) -> Campaign:
        """Send a draft (or resume a failed campaign): the campaign state machine takes it from here.
        Sending one that is on its way already changes nothing."""
        campaign = self.get(account, campaign_id)
        if campaign.status is CampaignStatus.SENT:
            raise CampaignError(f"campaign {campaign_id} was sent already: create a new one to send again")
        if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.FAILED):
            attempt = campaign.attempts + 1
            # A failed campaign is queued again: its first step puts it back where it failed, and every
            # step after finds what was done (the ledger, the sample, the decision) and goes on.
            moved = self.s.campaigns.transition(
                account,
                campaign_id,
                source={campaign.status},
                target=CampaignStatus.QUEUED,
                fields={"attempts": attempt, "execution_name": execution_name(account, campaign_id, attempt)},
                remove=("error",),
                condition="attempts = :seen OR attribute_not_exists(attempts)",
                values={":seen": campaign.attempts},
                now=self.s.clock(),
            )
            campaign = self.get(account, campaign_id)
            if not moved and campaign.status in (CampaignStatus.DRAFT, CampaignStatus.FAILED):
                raise CampaignError(f"campaign {campaign_id} changed meanwhile: run the command again")
        if campaign.status is CampaignStatus.QUEUED:
            self._start_execution(campaign)
        return self.get(account, campaign_id)

    def evaluate(self, account: str, campaign_id: str) -> Campaign:
        """An operator ends the observation window now: the decision is taken on what came back."""
        campaign = self.get(account, campaign_id)
        if campaign.decision is not None:
            return campaign
        if campaign.status not in (CampaignStatus.SAMPLING, CampaignStatus.OBSERVING):
            raise CampaignError(
                f"campaign {campaign_id} is {campaign.status}: only a campaign sending or observing its "
                "sample can be evaluated"
            )
        moved = self.s.campaigns.transition(
            account,
            campaign_id,
            source={CampaignStatus.SAMPLING, CampaignStatus.OBSERVING},
            fields={"evaluate_requested_at": self.s.clock()},
            condition="attribute_not_exists(decision)",
            now=self.s.clock(),
        )
        # Read after the request is stored: the window's step either finds the request, or its token
        # is here (see CampaignSteps.await_window).
        token = self.s.campaigns.task_token(account, campaign_id)
        if moved and token:
            try:
                self.s.sfn.send_task_success(taskToken=token, output=json.dumps({"window": "evaluated"}))
            except ClientError as error:
                if error.response["Error"]["Code"] not in {
                    "InvalidToken",
                    "TaskTimedOut",
                    "TaskDoesNotExist",
                }:
                    raise
        return self.get(account, campaign_id)

    def get(self, account: str, campaign_id: str) -> Campaign:
        keys.check_account_id(account)
        keys.check_campaign_id(campaign_id)
        campaign = self.s.campaigns.get(account, campaign_id)
        if campaign is None:
            raise CampaignError(
                f"no campaign {campaign_id} in account {account}: `listguard campaigns list` shows them"
            )
        return campaign

    def view(self, account: str, campaign_id: str) -> CampaignView:
        campaign = self.get(account, campaign_id)
        return CampaignView(campaign, self.s.ledger.counts(account, campaign_id))

    def list(self, account: str) -> list[Campaign]:
        keys.check_account_id(account)
        return sorted(self.s.campaigns.list(account), key=lambda c: c.created_at or "", reverse=True)

    def recipients(self, account: str, campaign_id: str) -> Iterator[str]:
        """The addresses the campaign was sent to so far (SES accepted the email)."""
        self.get(account, campaign_id)
        for record in self.s.ledger.records(account, campaign_id, state=SendState.SENT):
            yield record.email

    def _start_execution(self, campaign: Campaign) -> None:
        try:
            self.s.sfn.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=campaign.execution_name,
                input=json.dumps(
                    {"campaign": {"account": campaign.account, "campaign_id": campaign.campaign_id}}
                ),
            )
        except ClientError as error:
            # Started already: by this command before, for the same attempt.
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise


def _content(campaign: Campaign) -> tuple[Any, ...]:
    """What a customer wrote in a campaign (two creates of one request must agree on it)."""
    return (campaign.subject, campaign.text, campaign.html, campaign.sender, campaign.segment)


def _rate(count: int, sent: int | None) -> float | None:
    return round(count / sent, 6) if sent else None


__all__ = ["CampaignError", "CampaignView", "Campaigns", "execution_name"]
