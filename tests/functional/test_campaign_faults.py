"""Every AWS call of the campaign flow's steps fails in turn, as a lost request (no effect) or a lost
response (the call took effect, the caller sees an error); the step is then retried as Step Functions or
Lambda would. After every fault: nobody was mailed twice, no flagged or blocklisted contact was mailed,
and the end state is the fault-free one, or differs only by emails that SES may or may not have sent
(``unknown``, never sent again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from campaign_cloud import addresses, campaign_recipients, new_campaign, pairs, services, sns_event
from functional_cloud import Cloud
from harness import run_handler

from listguard.domain.vocabulary import CampaignStatus, FlagStatus, SendPhase
from listguard.flows.campaigns.feedback import simulated_notification
from listguard.flows.campaigns.steps import CampaignRef, CampaignSteps
from listguard.stores.ledger import SendLedger

#: A step that still fails after this many tries is a failure of the test (Step Functions tries 5 times).
RETRIES = 4


@dataclass
class Fault:
    """Fails the ``at``-th AWS call made through the watched clients (0: none), then counts on."""

    at: int = 0
    lost: str = "request"
    calls: list[str] = field(default_factory=list)

    def watch(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        if len(self.calls) == self.at and self.lost == "request":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "lost"}}, model.name)

    def _after(self, model: Any, **_: Any) -> None:
        if len(self.calls) == self.at and self.lost == "response":
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "lost"}}, model.name)


def retried(step: Callable[[], Any]) -> Any:
    """The step, tried again after an error, as its state machine's Retry does."""
    for attempt in range(RETRIES):
        try:
            return step()
        except ClientError:
            if attempt == RETRIES - 1:
                raise
    return None


def send_with(cloud: Cloud, fault: Fault, account: str) -> tuple[Any, list[str], list[str]]:
    """One campaign of ``account`` sent to 4 sendable, 1 pending and 1 blocklisted contact, its send
    step retried after ``fault``."""
    sendable = addresses(4, domain=f"{account}.example")
    flagged = addresses(2, start=10, domain=f"{account}.example")
    cloud.seed(sendable, account=account)
    cloud.seed(flagged[:1], flag=FlagStatus.PENDING, import_id="check", account=account)
    cloud.seed(flagged[1:], blocklisted=flagged[1:], account=account)
    campaign = new_campaign(cloud, account=account, status=CampaignStatus.SENDING)
    sesv2 = boto3.client("sesv2")
    flow = services(cloud, sesv2=sesv2)
    fault.watch(cloud.dynamodb, sesv2)
    steps = CampaignSteps(flow)
    ref = CampaignRef(account, campaign.campaign_id)
    counter = iter(range(100))
    retried(
        lambda: steps.send(ref, SendPhase.MAIN, attempt=f"attempt-{next(counter)}", deadline=float("inf"))
    )
    return campaign, sendable, flagged


def send_calls(cloud: Cloud) -> int:
    fault = Fault()
    send_with(cloud, fault, "faultfree")
    return len(fault.calls)


@pytest.mark.parametrize("lost", ["request", "response"])
def test_every_call_of_a_send_step_failing_in_turn(cloud: Cloud, lost: str) -> None:
    calls = send_calls(cloud)
    assert calls >= 12  # the campaign, the page, the ledger, the rate, and per contact: claim, SES, record

    for at in range(1, calls + 1):
        account = f"f{at}-{lost}"
        fault = Fault(at=at, lost=lost)
        campaign, _, flagged = send_with(cloud, fault, account)

        mailed = campaign_recipients(cloud, campaign.campaign_id)
        # Never twice, never a flagged or blocklisted contact
        assert all(count == 1 for count in mailed.values()), (at, lost, mailed)
        assert not set(mailed) & set(flagged), (at, lost)
        # Every sendable contact has its entry; only an email whose SES call failed may be missing or
        # unknown (the fault-free run sent all four)
        counts = SendLedger(cloud.table).counts(account, campaign.campaign_id)
        assert counts.entries == 4, (at, lost)
        failed_call = fault.calls[at - 1]
        if counts.sent < 4:
            assert failed_call in ("SendEmail", "UpdateItem", "TransactWriteItems"), (at, lost, failed_call)
            assert counts.unknown == 4 - counts.sent == 1
        assert len(mailed) == counts.sent + (1 if lost == "response" and counts.unknown else 0)


@pytest.mark.parametrize("lost", ["request", "response"])
def test_every_call_of_the_feedback_function_failing_in_turn(cloud: Cloud, lost: str) -> None:
    # Given a sent campaign and one SES hard bounce of it
    def bounce_with(fault: Fault, account: str) -> tuple[Any, dict[str, Any]]:
        cloud.seed(addresses(2, domain=f"{account}.example"), account=account)
        campaign = new_campaign(cloud, account=account)
        services(cloud).sender.send(
            campaign, pairs(addresses(2, domain=f"{account}.example")), phase=SendPhase.SAMPLE, attempt="a"
        )
        message = simulated_notification(
            "bounce",
            addresses(1, domain=f"{account}.example")[0],
            account=account,
            campaign_id=campaign.campaign_id,
            sender=campaign.sender,
            message_id=None,
            at="2026-12-01T10:00:00.000Z",
        )
        from listguard.aws import aws_clients

        fault.watch(aws_clients().dynamodb)
        # Lambda's retries of the asynchronous invocation
        retried(lambda: run_handler("feedback", sns_event(message), environment=cloud.environment))
        return campaign, message

    from listguard.aws import aws_clients

    aws_clients.cache_clear()
    fault_free = Fault()
    bounce_with(fault_free, "faultfree")
    calls = len(fault_free.calls)
    assert calls >= 4

    for at in range(1, calls + 1):
        aws_clients.cache_clear()
        account = f"b{at}-{lost}"
        campaign, _ = bounce_with(Fault(at=at, lost=lost), account)

        found = services(cloud).campaigns.get(account, campaign.campaign_id)
        assert found is not None
        # Counted once, on the campaign and its sample; the contact blocklisted
        assert (found.hard_bounces, found.sample_hard_bounces) == (1, 1), (at, lost)
        contact = cloud.contact_store.get(account, addresses(1, domain=f"{account}.example")[0])
        assert contact is not None and str(contact.subscription_status) == "blocklisted", (at, lost)
