"""The campaign state machine's steps (infra/statemachines/campaign.asl.json), one per Task state.

::

    prepare ─▶ sample? ─yes─▶ send(sample)* ─▶ await_window ─▶ evaluate ─▶ continue ─▶ send(main)* ─▶ finish
                  └──no─────────────────────────────────────────────────────────────────┘
                                                              evaluate ─▶ pause ─▶ hold* ─▶ request_check

Every step reads the campaign, and writes with one conditional transition, so each is safe to repeat
(Step Functions' retries, or a failed campaign resumed by ``campaigns send``) and safe to race: a
replay finds the campaign moved on and returns what was decided. The loops (``*``) keep their place on
the campaign (the last contact key done), so a campaign to a million contacts is many bounded
invocations; a retried invocation starts again at its page and the ledger skips whoever got the email.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from listguard.domain import keys
from listguard.domain.deliverability import BottomK, DeliverabilityPolicy, SampleRates, decide
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus, EventType, SendPhase
from listguard.flows.campaigns.checks import CampaignChecks
from listguard.flows.campaigns.sending import Sender, SendTally
from listguard.flows.campaigns.targets import PAGE_SIZE, TargetPage, target_page
from listguard.notify import Notifier
from listguard.stores import Table
from listguard.stores.campaigns import CampaignStore, paused_index_fields
from listguard.stores.ledger import SendLedger

logger = Logger(child=True)

#: Contacts read per page while preparing (only counted and ranked: no write per contact).
PREPARE_PAGE_SIZE = 1_000


class CampaignMovedError(Exception):
    """The campaign is not where this step expects it (another execution moved it on): the state
    machine ends quietly."""


@dataclass(frozen=True)
class CampaignRef:
    account: str
    campaign_id: str

    @classmethod
    def of(cls, payload: dict[str, Any]) -> CampaignRef:
        return cls(account=payload["account"], campaign_id=payload["campaign_id"])


@dataclass(frozen=True)
class CampaignServices:
    """What the steps, the requeue job and the console's actions talk to."""

    table: Table
    campaigns: CampaignStore
    ledger: SendLedger
    sender: Sender
    checks: CampaignChecks
    notifier: Notifier | None
    policy: DeliverabilityPolicy
    sfn: Any
    clock: Callable[[], str]
    monotonic: Callable[[], float] = time.monotonic


class CampaignSteps:
    def __init__(self, services: CampaignServices) -> None:
        self.s = services

    # -- prepare: the target, and the sample when many contacts were never mailed ----------------------

    def prepare(self, ref: CampaignRef) -> dict[str, Any]:
        campaign = self._campaign(ref)
        if campaign.prepared_at is not None:
            if campaign.status is CampaignStatus.QUEUED:  # a failed campaign resumed: back where it was
                self.s.campaigns.transition(
                    ref.account,
                    ref.campaign_id,
                    source={CampaignStatus.QUEUED},
                    target=_resumed_status(campaign),
                    remove=("failed_from",),
                    now=self.s.clock(),
                )
            return _plan(self._campaign(ref))
        if campaign.status is not CampaignStatus.QUEUED:
            raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}, not queued")
        policy = self.s.policy
        target = new = 0
        sample = BottomK(ref.campaign_id, policy.sample_size)
        cursor: str | None = None
        while True:
            page = target_page(
                self.s.table,
                ref.account,
                campaign.segment,
                after=cursor,
                sendable_only=True,
                limit=PREPARE_PAGE_SIZE,
            )
            for contact in page.contacts:
                target += 1
                if "last_mailed_at" not in contact:
                    new += 1
                    sample.offer(TargetPage.key_of(contact), contact["email"])
            if page.cursor is None:
                break
            cursor = page.cursor
        samples = policy.samples(new)
        if samples:
            self.s.ledger.put_sample(ref.account, ref.campaign_id, sample)
        moved = self.s.campaigns.transition(
            ref.account,
            ref.campaign_id,
            source={CampaignStatus.QUEUED},
            target=CampaignStatus.SAMPLING if samples else CampaignStatus.SENDING,
            fields={
                "prepared_at": self.s.clock(),
                "target_count": target,
                "new_count": new,
                "sample_size": len(sample) if samples else 0,
                "hard_bounce_rate_to_pause": policy.hard_bounce_rate_to_pause,
                "complaint_rate_to_pause": policy.complaint_rate_to_pause,
                "observation_window_seconds": policy.observation_window_seconds,
            },
            condition="attribute_not_exists(prepared_at)",
            now=self.s.clock(),
        )
        campaign = self._campaign(ref)
        if not moved and campaign.prepared_at is None:
            raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}, not queued")
        logger.info(
            "campaign prepared",
            extra={
                "campaign_id": ref.campaign_id,
                "target": target,
                "new": new,
                "sample": campaign.sample_size,
            },
        )
        return _plan(campaign)

    # -- send: one invocation's share, from where the last one stopped --------------------------------

    def send(self, ref: CampaignRef, phase: SendPhase, *, attempt: str, deadline: float) -> dict[str, Any]:
        """Send from where the loop stopped until the target ends or ``deadline`` (monotonic) passes.
        ``attempt`` is this invocation's own id. Returns counts and whether the phase is done."""
        campaign = self._campaign(ref)
        if phase is SendPhase.SAMPLE and campaign.decision is not None:
            return {"done": True, **SendTally().as_dict()}  # a resumed campaign: the sample is behind it
        expected = {
            SendPhase.SAMPLE: {CampaignStatus.SAMPLING, CampaignStatus.OBSERVING},
            SendPhase.MAIN: {CampaignStatus.SENDING},
        }[phase]
        if campaign.status not in expected:
            raise CampaignMovedError(
                f"campaign {ref.campaign_id} is {campaign.status}: not sending its {phase}"
            )
        loop = _Loop(self.s, campaign, str(phase), expected)
        tally = SendTally()
        while not loop.done:
            if phase is SendPhase.SAMPLE:
                page = self.s.ledger.sample_page(
                    ref.account, ref.campaign_id, after=loop.cursor, limit=PAGE_SIZE
                )
                candidates = [(item["email_key"], item["email"]) for item in page.items]
                cursor = keys.contact_key_of_ledger_sk(page.last_sk) if page.last_sk else None
            else:
                targets = target_page(
                    self.s.table, ref.account, campaign.segment, after=loop.cursor, sendable_only=True
                )
                candidates = [(TargetPage.key_of(c), c["email"]) for c in targets.contacts]
                cursor = targets.cursor
            tally.add(self._send_page(campaign, candidates, phase=phase, attempt=attempt))
            loop.advance(cursor)
            if self.s.monotonic() >= deadline:
                break
        return {"done": loop.done, **tally.as_dict()}

    def _send_page(
        self, campaign: Campaign, candidates: list[tuple[str, str]], *, phase: SendPhase, attempt: str
    ) -> SendTally:
        if not candidates:
            return SendTally()
        # One read for the page skips whoever has an entry already (a retried page, a resumed campaign).
        had_it = self.s.ledger.existing(
            campaign.account, campaign.campaign_id, [key for key, _ in candidates]
        )
        fresh = [(key, email) for key, email in candidates if key not in had_it]
        tally = self.s.sender.send(campaign, fresh, phase=phase, attempt=attempt)
        tally.taken += len(candidates) - len(fresh)
        return tally

    # -- the observation window --------------------------------------------------------------------------

    def await_window(self, ref: CampaignRef, token: str) -> None:
        """The sample is sent: hold the task token until the window ends (the state machine's timeout)
        or an operator ends it early (``campaigns evaluate``, which sends the token)."""
        campaign = self._campaign(ref)
        if campaign.decision is not None:
            self._send_token(token)
            return
        window = campaign.observation_window_seconds or self.s.policy.observation_window_seconds
        ends_at = campaign.window_ends_at or (datetime.now(UTC) + timedelta(seconds=window)).isoformat(
            timespec="seconds"
        )
        sent = self.s.ledger.counts(ref.account, ref.campaign_id, phase=SendPhase.SAMPLE).taken
        moved = self.s.campaigns.transition(
            ref.account,
            ref.campaign_id,
            source={CampaignStatus.SAMPLING, CampaignStatus.OBSERVING},
            target=CampaignStatus.OBSERVING,
            fields={"task_token": token, "window_ends_at": ends_at, "sample_sent": sent},
            condition="attribute_not_exists(decision)",
            now=self.s.clock(),
        )
        campaign = self._campaign(ref)
        if not moved and campaign.decision is None:
            raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}: no window to open")
        # Read after the token is stored: an operator's early evaluation either finds the token, or is
        # found here.
        if campaign.decision is not None or campaign.evaluate_requested_at is not None:
            self._send_token(token)

    def evaluate(self, ref: CampaignRef) -> dict[str, str]:
        """The window ended: pause at or above a threshold, continue under both."""
        campaign = self._campaign(ref)
        if campaign.decision is not None:
            return {"decision": campaign.decision}
        if campaign.status not in {CampaignStatus.SAMPLING, CampaignStatus.OBSERVING}:
            raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}: nothing to evaluate")
        rates = SampleRates(
            sent=self.s.ledger.counts(ref.account, ref.campaign_id, phase=SendPhase.SAMPLE).taken,
            hard_bounces=campaign.sample_hard_bounces,
            complaints=campaign.sample_complaints,
            soft_bounces=campaign.sample_soft_bounces,
        )
        decision = decide(
            rates,
            hard_bounce_rate_to_pause=campaign.hard_bounce_rate_to_pause
            or self.s.policy.hard_bounce_rate_to_pause,
            complaint_rate_to_pause=campaign.complaint_rate_to_pause or self.s.policy.complaint_rate_to_pause,
        )
        now = self.s.clock()
        fields: dict[str, Any] = {
            "decision": decision.label,
            "decision_reasons": decision.reasons,
            "decided_at": now,
            "sample_sent": rates.sent,
        }
        if decision.pause:
            pauses = campaign.pauses + 1
            fields |= {
                "paused_at": now,
                "pauses": pauses,
                "check_import_id": keys.campaign_check_import_id(ref.campaign_id, pauses),
                **paused_index_fields(now, ref.account, ref.campaign_id),
            }
        moved = self.s.campaigns.transition(
            ref.account,
            ref.campaign_id,
            source={CampaignStatus.SAMPLING, CampaignStatus.OBSERVING},
            target=CampaignStatus.PAUSED if decision.pause else CampaignStatus.SENDING,
            fields=fields,
            remove=("task_token",),
            condition="attribute_not_exists(decision)",
            now=now,
        )
        if not moved:
            campaign = self._campaign(ref)
            if campaign.decision is None:
                raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}: not evaluated")
            return {"decision": campaign.decision}
        logger.info(
            "campaign sample evaluated",
            extra={"campaign_id": ref.campaign_id, "decision": decision.label, "sample_sent": rates.sent},
        )
        return {"decision": decision.label}

    # -- a pause: the unsent new contacts are held and checked --------------------------------------------

    def hold(self, ref: CampaignRef, *, deadline: float) -> dict[str, Any]:
        campaign = self._paused(ref)
        loop = _Loop(self.s, campaign, "hold", {CampaignStatus.PAUSED})
        held = 0
        while not loop.done:
            page = target_page(
                self.s.table, ref.account, campaign.segment, after=loop.cursor, sendable_only=False
            )
            held += self.s.checks.hold(campaign, page.contacts)
            loop.advance(page.cursor)
            if self.s.monotonic() >= deadline:
                break
        return {"done": loop.done, "held": held}

    def request_check(self, ref: CampaignRef) -> dict[str, Any]:
        """Hand the held contacts to the import lifecycle, and tell the customer why."""
        campaign = self._paused(ref)
        held = self.s.checks.request(campaign)
        self.s.campaigns.transition(
            ref.account,
            ref.campaign_id,
            source={CampaignStatus.PAUSED},
            fields={"held_count": held},
            now=self.s.clock(),
        )
        if self.s.notifier is not None:
            hard_rate = campaign.sample_hard_bounces / campaign.sample_sent if campaign.sample_sent else 0.0
            complaint_rate = (
                campaign.sample_complaints / campaign.sample_sent if campaign.sample_sent else 0.0
            )
            self.s.notifier.notify(
                ref.account,
                EventType.CAMPAIGN_PAUSED,
                f"campaign:{ref.account}:{ref.campaign_id}:paused:{campaign.pauses}",
                {
                    "campaign_id": ref.campaign_id,
                    "subject": campaign.subject,
                    "sample_sent": campaign.sample_sent or 0,
                    "hard_bounces": campaign.sample_hard_bounces,
                    "hard_bounce_rate": hard_rate,
                    "complaints": campaign.sample_complaints,
                    "complaint_rate": complaint_rate,
                    "reasons": campaign.decision_reasons,
                    "held": held,
                    "check_import_id": campaign.check_import_id,
                },
            )
        return {"held": held, "check_import_id": campaign.check_import_id}

    # -- the end ------------------------------------------------------------------------------------------

    def finish(self, ref: CampaignRef) -> dict[str, str]:
        moved = self.s.campaigns.transition(
            ref.account,
            ref.campaign_id,
            source={CampaignStatus.SENDING},
            target=CampaignStatus.SENT,
            fields={"finished_at": self.s.clock()},
            now=self.s.clock(),
        )
        campaign = self._campaign(ref)
        if not moved and campaign.status is not CampaignStatus.SENT:
            raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}: not finishing")
        return {"status": str(campaign.status)}

    def fail(self, ref: CampaignRef, error: str, cause: str | None = None) -> None:
        """A step failed after its retries: say so on the campaign (``campaigns send`` resumes it)."""
        campaign = self._campaign(ref)
        if campaign.status in {CampaignStatus.SENT, CampaignStatus.DRAFT, CampaignStatus.FAILED}:
            return
        failed_from = campaign.status
        if failed_from is CampaignStatus.QUEUED and campaign.failed_from is not None:
            failed_from = campaign.failed_from  # it failed again while resuming
        reason = _one_line(error, cause)
        self.s.campaigns.transition(
            ref.account,
            ref.campaign_id,
            source={campaign.status},
            target=CampaignStatus.FAILED,
            fields={"error": reason, "failed_from": str(failed_from)},
            now=self.s.clock(),
        )
        self._tell_failed(ref, campaign, error)

    def _tell_failed(self, ref: CampaignRef, campaign: Campaign, error: str) -> None:
        """Once per attempt (``campaigns send`` starts a new one): a retried step finds its notice. The
        customer reads the error's name, never its message (one may quote data); operators see both."""
        if self.s.notifier is None:
            return
        self.s.notifier.notify(
            ref.account,
            EventType.CAMPAIGN_FAILED,
            f"campaign:{ref.account}:{ref.campaign_id}:failed:{campaign.attempts}",
            {
                "campaign_id": ref.campaign_id,
                "subject": campaign.subject,
                "reason": f"a step failed after its retries ({error.split(':', 1)[0] or 'unknown error'})",
            },
        )

    # -- plumbing -----------------------------------------------------------------------------------------

    def _campaign(self, ref: CampaignRef) -> Campaign:
        campaign = self.s.campaigns.get(ref.account, ref.campaign_id)
        if campaign is None:
            raise CampaignMovedError(f"no campaign {ref.campaign_id} in account {ref.account}")
        return campaign

    def _paused(self, ref: CampaignRef) -> Campaign:
        campaign = self._campaign(ref)
        if campaign.status is not CampaignStatus.PAUSED or campaign.check_import_id is None:
            raise CampaignMovedError(f"campaign {ref.campaign_id} is {campaign.status}, not paused")
        return campaign

    def _send_token(self, token: str) -> None:
        try:
            self.s.sfn.send_task_success(taskToken=token, output=json.dumps({"window": "ended"}))
        except ClientError as error:
            if error.response["Error"]["Code"] not in {"InvalidToken", "TaskTimedOut", "TaskDoesNotExist"}:
                raise


class _Loop:
    """Where a loop of bounded invocations (the sample, the rest, the hold) stands, kept on the campaign
    (``loop_<name>``: the last contact key done, or ``DONE``), not in the state machine, whose history
    would hold contact keys, which are addresses. Each page is recorded once done, so an invocation that
    fails goes on, when retried, from the page it was on (the ledger skips whoever got the email)."""

    DONE = ""

    def __init__(
        self, services: CampaignServices, campaign: Campaign, name: str, statuses: set[CampaignStatus]
    ) -> None:
        self._s, self._campaign, self._statuses = services, campaign, statuses
        self._field = f"loop_{name}"
        place: str | None = getattr(campaign, self._field)
        self.cursor: str | None = place or None
        self.done = place == self.DONE

    def advance(self, cursor: str | None) -> None:
        """The page before ``cursor`` is done (None: the last page was)."""
        moved = self._s.campaigns.transition(
            self._campaign.account,
            self._campaign.campaign_id,
            source=self._statuses,
            fields={self._field: cursor if cursor is not None else self.DONE},
            now=self._s.clock(),
        )
        if not moved:
            raise CampaignMovedError(
                f"campaign {self._campaign.campaign_id} moved on during its {self._field}"
            )
        self.cursor, self.done = cursor, cursor is None


def _resumed_status(campaign: Campaign) -> CampaignStatus:
    """Where a prepared campaign that failed goes back to (what was decided says, if nothing else)."""
    if campaign.failed_from is not None and campaign.failed_from is not CampaignStatus.QUEUED:
        return campaign.failed_from
    if campaign.decision == "pause":
        return CampaignStatus.PAUSED
    if campaign.decision == "continue" or not campaign.sample_size:
        return CampaignStatus.SENDING
    return CampaignStatus.SAMPLING


def _plan(campaign: Campaign) -> dict[str, Any]:
    return {
        "sample": campaign.sample_size > 0,
        "window_seconds": int(campaign.observation_window_seconds or 1),
    }


def _one_line(error: str, cause: str | None) -> str:
    """The error name and, from Lambda's error document, its message: one line, no stack."""
    message = ""
    if cause:
        try:
            message = str(json.loads(cause).get("errorMessage", ""))
        except (ValueError, AttributeError):
            message = cause
    text = f"{error}: {message}" if message else error
    return " ".join(text.split())[:500]
