"""The sending gate and the send ledger on moto: nobody flagged or blocklisted is ever mailed, and nobody
gets a campaign twice, whether a send is retried, races another, or loses its answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from campaign_cloud import addresses, campaign_recipients, new_campaign, pairs, services
from functional_cloud import ACCOUNT, Cloud
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listguard.domain import keys
from listguard.domain.vocabulary import FlagStatus, SendPhase, SendState
from listguard.stores.ledger import Claim, SendLedger


def throttled(operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


def no_answer() -> Exception:
    """What botocore raises when the answer never came (the call may have taken effect)."""
    return ReadTimeoutError(endpoint_url="https://aws.local")


def test_a_contact_is_claimed_once_then_found_taken(cloud: Cloud) -> None:
    # Given a sendable contact and a campaign
    cloud.seed(["bob@example.com"])
    campaign = new_campaign(cloud)
    ledger = SendLedger(cloud.table)
    claim = {"contact_key": "bob@example.com", "email": "bob@example.com", "phase": SendPhase.MAIN}

    # When two attempts claim it
    first = ledger.claim(ACCOUNT, campaign.campaign_id, **claim, attempt="one", now="t1")
    second = ledger.claim(ACCOUNT, campaign.campaign_id, **claim, attempt="two", now="t2")

    # Then only the first may send; the entry and the contact say so
    assert (first, second) == (Claim.CLAIMED, Claim.TAKEN)
    entry = ledger.get(ACCOUNT, campaign.campaign_id, "bob@example.com")
    assert entry is not None and (entry.state, entry.claim, entry.claimed_at) == (
        SendState.CLAIMED,
        "one",
        "t1",
    )
    contact = cloud.raw_item(keys.account_pk(ACCOUNT), keys.contact_sk("bob@example.com"))
    assert (contact["last_mailed_at"], contact["rev"]) == ("t1", 2)


@pytest.mark.parametrize("state", ["pending", "declined", "blocklisted", "absent"])
def test_a_contact_that_may_not_be_mailed_is_never_claimed(cloud: Cloud, state: str) -> None:
    # Given a contact that is flagged, blocklisted, or not there at all
    if state in ("pending", "declined"):
        cloud.seed(["bob@example.com"], flag=FlagStatus(state))
    elif state == "blocklisted":
        cloud.seed(["bob@example.com"], blocklisted=["bob@example.com"])
    campaign = new_campaign(cloud)
    before = cloud.items()

    # When a send claims it
    claim = SendLedger(cloud.table).claim(
        ACCOUNT,
        campaign.campaign_id,
        contact_key="bob@example.com",
        email="bob@example.com",
        phase=SendPhase.MAIN,
        attempt="one",
        now="t1",
    )

    # Then nothing is claimed and nothing is written
    assert claim is Claim.NOT_SENDABLE
    assert cloud.items() == before


def test_only_sendable_contacts_are_mailed(cloud: Cloud) -> None:
    # Given an account with contacts in every state, all of them in the recipients
    sendable = addresses(5)
    cloud.seed(sendable)
    cloud.seed(addresses(3, start=10), flag=FlagStatus.PENDING, import_id="check")
    cloud.seed(addresses(3, start=20), flag=FlagStatus.DECLINED, import_id="bought")
    cloud.seed(addresses(2, start=30), blocklisted=addresses(2, start=30))
    campaign = new_campaign(cloud)
    everyone = addresses(5) + addresses(3, start=10) + addresses(3, start=20) + addresses(2, start=30)

    # When the campaign is sent to all of them (and to two addresses that are no contact)
    tally = services(cloud).sender.send(
        campaign, pairs([*everyone, *addresses(2, start=90)]), phase=SendPhase.MAIN, attempt="a"
    )

    # Then only the sendable ones got it, once each
    assert campaign_recipients(cloud) == dict.fromkeys(sendable, 1)
    assert (tally.sent, tally.not_sendable, tally.unknown, tally.taken) == (5, 10, 0, 0)


def test_a_contact_flagged_after_it_was_listed_is_not_mailed(cloud: Cloud) -> None:
    # Given recipients read from the account, then one of them flagged and one blocklisted meanwhile
    cloud.seed(addresses(4))
    campaign = new_campaign(cloud)
    recipients = pairs(addresses(4))
    cloud.seed([addresses(4)[1]], flag=FlagStatus.PENDING, import_id="check")
    cloud.contact_store.blocklist(ACCOUNT, addresses(4)[2], now="t", reason="unsubscribed")

    # When the page is sent
    services(cloud).sender.send(campaign, recipients, phase=SendPhase.MAIN, attempt="a")

    # Then the gate decided at the moment of the send
    assert set(campaign_recipients(cloud)) == {addresses(4)[0], addresses(4)[3]}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(states=st.lists(st.sampled_from(["none", "pending", "declined", "blocklisted", "absent"]), max_size=6))
def test_no_flagged_or_blocklisted_recipient_ever(cloud: Cloud, states: list[str]) -> None:
    # Given contacts in any mix of states (fresh ones for every example)
    import uuid

    tag = uuid.uuid4().hex[:8]
    emails = [f"p{i}-{tag}@example.com" for i in range(len(states))]
    for address, state in zip(emails, states, strict=True):
        if state == "none":
            cloud.seed([address])
        elif state in ("pending", "declined"):
            cloud.seed([address], flag=FlagStatus(state), import_id="other")
        elif state == "blocklisted":
            cloud.seed([address], blocklisted=[address])
    campaign = new_campaign(cloud)

    # When the campaign is sent to all of them, twice
    for attempt in ("a", "b"):
        services(cloud).sender.send(campaign, pairs(emails), phase=SendPhase.MAIN, attempt=attempt)

    # Then exactly the sendable ones got it, once
    expected = {address for address, state in zip(emails, states, strict=True) if state == "none"}
    assert campaign_recipients(cloud, campaign.campaign_id) == dict.fromkeys(expected, 1)


def test_racing_senders_mail_each_contact_once(cloud: Cloud) -> None:
    # Given 60 contacts and four senders (overlapping executions, requeue runs) on the same recipients
    emails = addresses(60)
    cloud.seed(emails)
    campaign = new_campaign(cloud)
    errors: list[BaseException] = []

    def sender(attempt: str, order: list[str]) -> None:
        try:
            services(cloud).sender.send(campaign, pairs(order), phase=SendPhase.MAIN, attempt=attempt)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [
        threading.Thread(target=sender, args=(f"attempt-{n}", emails if n % 2 else list(reversed(emails))))
        for n in range(4)
    ]

    # When they all send at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every contact got the campaign exactly once, and the ledger has one entry each
    assert not errors
    assert campaign_recipients(cloud) == dict.fromkeys(emails, 1)
    counts = SendLedger(cloud.table).counts(ACCOUNT, campaign.campaign_id)
    assert (counts.sent, counts.entries) == (60, 60)


class Faults:
    """Fails chosen AWS calls of one client, as a network would: before the call takes effect (a lost
    request) or after (a lost response). botocore's event hooks, as the fault sweep uses them."""

    def __init__(
        self,
        client: Any,
        operation: str,
        *,
        lost: str,
        times: int = 1,
        skip: int = 0,
        error: Callable[[], Exception] = lambda: throttled(),
    ) -> None:
        self.skip = skip
        self.remaining = times
        self.error = error
        event = "before-call" if lost == "request" else "after-call"
        service = client.meta.service_model.service_name
        client.meta.events.register(f"{event}.{service}.{operation}", self._maybe_fail)

    def _maybe_fail(self, **_: Any) -> None:
        if self.skip > 0:
            self.skip -= 1
        elif self.remaining > 0:
            self.remaining -= 1
            raise self.error()


@pytest.mark.parametrize("lost", ["request", "response"])
def test_a_claim_whose_answer_is_lost_sends_once(cloud: Cloud, lost: str) -> None:
    # Given a send whose claim (the ledger transaction) fails once, before or after it took effect
    cloud.seed(addresses(3))
    campaign = new_campaign(cloud)
    flow = services(cloud)
    Faults(cloud.dynamodb, "TransactWriteItems", lost=lost)

    # When the campaign is sent
    tally = flow.sender.send(campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="a")

    # Then the attempt found out what happened and sent each email once
    assert tally.sent == 3
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(3), 1)


def test_a_send_without_an_answer_is_unknown_and_never_sent_again(cloud: Cloud) -> None:
    # Given SES sends one email and its answer is lost (no answer at all: a read timeout)
    cloud.seed(addresses(3))
    campaign = new_campaign(cloud)
    sesv2 = boto3.client("sesv2")
    Faults(sesv2, "SendEmail", lost="response", error=no_answer)

    # When the campaign is sent, then sent again (a retried step, or another sender)
    first = services(cloud, sesv2=sesv2).sender.send(
        campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="a"
    )
    again = services(cloud).sender.send(campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="b")

    # Then that email is unknown: it went out once, and is never sent again
    assert (first.sent, first.unknown, again.sent, again.taken) == (2, 1, 0, 3)
    entry = SendLedger(cloud.table).get(ACCOUNT, campaign.campaign_id, addresses(3)[0])
    assert entry is not None and (entry.state, entry.error) == (SendState.UNKNOWN, "ReadTimeoutError")
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(3), 1)


def test_a_send_that_ses_throttled_is_released_and_sent_by_the_retry(cloud: Cloud) -> None:
    # Given SES refuses one SendEmail (throttled: it answered, nothing went out)
    cloud.seed(addresses(3))
    campaign = new_campaign(cloud)
    sesv2 = boto3.client("sesv2")
    Faults(sesv2, "SendEmail", lost="request")

    # When the campaign is sent: the attempt fails; its retry (a new attempt) sends
    with pytest.raises(ClientError):
        services(cloud, sesv2=sesv2).sender.send(
            campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="a"
        )
    assert SendLedger(cloud.table).get(ACCOUNT, campaign.campaign_id, addresses(3)[0]) is None
    again = services(cloud).sender.send(campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="b")

    # Then everyone got it once (before the refusal released its claim, not one was marked unknown)
    assert (again.sent, again.unknown, again.taken) == (3, 0, 0)
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(3), 1)
    counts = SendLedger(cloud.table).counts(ACCOUNT, campaign.campaign_id)
    assert (counts.sent, counts.unknown) == (3, 0)


def test_an_email_ses_rejects_is_unknown_and_the_campaign_goes_on(cloud: Cloud) -> None:
    # Given SES rejects one email for good (MessageRejected: no retry would change it)
    cloud.seed(addresses(3))
    campaign = new_campaign(cloud)
    sesv2 = boto3.client("sesv2")
    rejected = ClientError(
        {
            "Error": {"Code": "MessageRejected", "Message": "rejected"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "SendEmail",
    )
    Faults(sesv2, "SendEmail", lost="request", error=lambda: rejected)

    # When the campaign is sent
    tally = services(cloud, sesv2=sesv2).sender.send(
        campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="a"
    )

    # Then the others got it, and that one is unknown (never tried again), not a failed campaign
    assert (tally.sent, tally.unknown) == (2, 1)
    entry = SendLedger(cloud.table).get(ACCOUNT, campaign.campaign_id, addresses(3)[0])
    assert entry is not None and (entry.state, entry.error) == (SendState.UNKNOWN, "MessageRejected")


def test_a_claim_without_an_answer_is_found_its_own_and_sent_once(cloud: Cloud) -> None:
    # Given the claim transaction takes effect and its answer is lost (a read timeout)
    cloud.seed(addresses(3))
    campaign = new_campaign(cloud)
    flow = services(cloud)
    Faults(cloud.dynamodb, "TransactWriteItems", lost="response", error=no_answer)

    # When the campaign is sent
    tally = flow.sender.send(campaign, pairs(addresses(3)), phase=SendPhase.MAIN, attempt="a")

    # Then the attempt read its own claim back and sent: nobody is left claimed and unsent
    assert (tally.sent, tally.unknown, tally.taken) == (3, 0, 0)
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(3), 1)


def test_a_send_whose_record_cannot_be_written_stops_and_is_never_repeated(cloud: Cloud) -> None:
    # Given SES takes the email, then the ledger refuses to record it three times in a row (the first
    # UpdateItem takes the sending rate's permits)
    cloud.seed(addresses(2))
    campaign = new_campaign(cloud)
    Faults(cloud.dynamodb, "UpdateItem", lost="request", times=3, skip=1)

    # When the campaign is sent, fails, and is retried by a new attempt
    with pytest.raises(ClientError):
        services(cloud).sender.send(campaign, pairs(addresses(2)), phase=SendPhase.MAIN, attempt="a")
    services(cloud).sender.send(campaign, pairs(addresses(2)), phase=SendPhase.MAIN, attempt="b")

    # Then the first contact's email is not sent again (its entry stays claimed: unknown), the second is sent
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(2), 1)
    counts = SendLedger(cloud.table).counts(ACCOUNT, campaign.campaign_id)
    assert (counts.sent, counts.unknown) == (1, 1)
