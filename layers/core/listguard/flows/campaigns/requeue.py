"""The requeue job (``functions/requeue``, on an EventBridge schedule): paused campaigns go on.

On every run, for each paused campaign (gsi1 ``CAMPAIGNS#PAUSED``; or the one campaign the console
names):

1. its verification check is settled once the check import rests (flows/campaigns/checks.py);
2. if a remediation marked it for requeue (``requeue_requested_by``), it is sent to the contacts of
   its target that are sendable now and have no ledger entry: the ones the pause held and the check or
   the remediation cleared, and the ones that never got it because of the pause;
3. when a whole pass met no contact of the target still ``pending``, the campaign is ``sent``; until
   then it stays paused and the next run goes on (a pass that runs out of time keeps its cursor on the
   campaign).

Two runs at once are safe: each send is claimed in the ledger first, so nobody gets the campaign twice,
and the campaign moves on with a conditional update. Each run reports how many got it.
"""

from __future__ import annotations

from pydantic import BaseModel

from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus, FlagStatus, SendPhase
from listguard.flows.campaigns.sending import SendTally
from listguard.flows.campaigns.steps import CampaignRef, CampaignServices
from listguard.flows.campaigns.targets import TargetPage, target_page
from listguard.stores.campaigns import PAUSED_INDEX_FIELDS


class RequeueReport(BaseModel):
    """What one run did for one campaign (ids and counts, never an address)."""

    account: str
    campaign_id: str
    status: str
    #: Contacts that got the campaign in this run.
    sent: int = 0
    unknown: int = 0
    #: Contacts that had it already (the sample, before the pause, or an overlapping run).
    taken: int = 0
    not_sendable: int = 0
    #: Contacts of the target still pending (their check or an operator's decision is to come).
    still_flagged: int | None = None
    #: The whole target was gone through (else the next run goes on from where this one stopped).
    done: bool = False
    #: The check import's status when this run settled it.
    check_settled: str | None = None
    skipped_reason: str | None = None


class Requeue:
    def __init__(self, services: CampaignServices) -> None:
        self.s = services

    def run(self, *, only: CampaignRef | None, attempt: str, deadline: float) -> list[RequeueReport]:
        """Every paused campaign (or ``only`` that one), until ``deadline`` (monotonic)."""
        if only is not None:
            found = self.s.campaigns.get(only.account, only.campaign_id)
            if found is None:
                return [
                    RequeueReport(
                        account=only.account,
                        campaign_id=only.campaign_id,
                        status="unknown",
                        skipped_reason=f"no campaign {only.campaign_id} in account {only.account}",
                    )
                ]
            campaigns = [found]
        else:
            campaigns = list(self.s.campaigns.paused())
        reports: list[RequeueReport] = []
        for campaign in campaigns:
            if reports and self.s.monotonic() >= deadline:
                break  # the next run takes the others
            reports.append(self._requeue(campaign, attempt=attempt, deadline=deadline))
        return reports

    def _requeue(self, campaign: Campaign, *, attempt: str, deadline: float) -> RequeueReport:
        report = RequeueReport(
            account=campaign.account, campaign_id=campaign.campaign_id, status=str(campaign.status)
        )
        if campaign.status is not CampaignStatus.PAUSED:
            report.skipped_reason = f"campaign is {campaign.status}: only a paused campaign is requeued"
            return report
        report.check_settled = self.s.checks.settle(campaign)
        if not campaign.requeue_requested_by:
            report.skipped_reason = "not marked for requeue by a remediation yet"
            return report
        cursor = campaign.requeue_cursor
        flagged = campaign.requeue_flagged if cursor else 0
        tally = SendTally()
        while True:
            page = target_page(
                self.s.table, campaign.account, campaign.segment, after=cursor, sendable_only=False
            )
            had_it = self.s.ledger.existing(
                campaign.account, campaign.campaign_id, [TargetPage.key_of(c) for c in page.contacts]
            )
            waiting = [c for c in page.contacts if TargetPage.key_of(c) not in had_it]
            flagged += sum(1 for c in waiting if c.get("flag_status") == FlagStatus.PENDING)
            sendable = [
                (TargetPage.key_of(c), c["email"]) for c in waiting if c.get("flag_status") == FlagStatus.NONE
            ]
            tally.add(self.s.sender.send(campaign, sendable, phase=SendPhase.REQUEUE, attempt=attempt))
            tally.taken += len(page.contacts) - len(waiting)
            cursor = page.cursor
            if cursor is None:
                break
            self._keep_place(campaign, cursor, flagged)
            if self.s.monotonic() >= deadline:
                report.still_flagged = flagged
                return report.model_copy(update=tally.as_dict())
        now = self.s.clock()
        if flagged == 0:
            self.s.campaigns.transition(
                campaign.account,
                campaign.campaign_id,
                source={CampaignStatus.PAUSED},
                target=CampaignStatus.SENT,
                fields={
                    "requeued_by": campaign.requeue_requested_by,
                    "requeued_at": now,
                    "finished_at": now,
                    "still_flagged": 0,
                },
                remove=(*PAUSED_INDEX_FIELDS, "requeue_cursor", "requeue_flagged"),
                now=now,
            )
        else:
            self.s.campaigns.transition(
                campaign.account,
                campaign.campaign_id,
                source={CampaignStatus.PAUSED},
                fields={"still_flagged": flagged, "requeued_at": now},
                remove=("requeue_cursor", "requeue_flagged"),
                now=now,
            )
        current = self.s.campaigns.get(campaign.account, campaign.campaign_id)
        return report.model_copy(
            update={
                **tally.as_dict(),
                "still_flagged": flagged,
                "done": True,
                "status": str(current.status if current else campaign.status),
            }
        )

    def _keep_place(self, campaign: Campaign, cursor: str, flagged: int) -> None:
        self.s.campaigns.transition(
            campaign.account,
            campaign.campaign_id,
            source={CampaignStatus.PAUSED},
            fields={"requeue_cursor": cursor, "requeue_flagged": flagged},
            now=self.s.clock(),
        )
