"""The campaign state machine's steps on moto, one at a time as its Task states run them: prepare, the
sample and its window, the decision at the thresholds, the pause and its check file, the rest, the end.
Every step, run again, changes nothing (Step Functions retries; a failed campaign resumed)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from campaign_cloud import (
    actions,
    addresses,
    campaign_recipients,
    loop,
    new_campaign,
    services,
    set_fields,
    step,
)
from functional_cloud import ACCOUNT, Cloud

from listguard.domain import keys
from listguard.domain.deliverability import NoSampleSentError
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus, FlagStatus, SendPhase
from listguard.flows.campaigns.actions import CampaignError
from listguard.flows.campaigns.steps import CampaignMovedError, CampaignRef, CampaignSteps
from listguard.stores.ledger import SendLedger


@pytest.fixture
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's parameters, scaled down: a sample of 10 from 30 never-mailed contacts."""
    monkeypatch.setenv("LISTGUARD_SAMPLE_SIZE", "10")
    monkeypatch.setenv("LISTGUARD_SAMPLE_MIN_NEW_CONTACTS", "30")
    monkeypatch.setenv("LISTGUARD_SEND_RATE_PER_SECOND", "1000")


def test_few_new_contacts_go_out_at_once(cloud: Cloud, small_sample: None) -> None:
    # Given 20 never-mailed contacts (fewer than the 30 that call for a sample)
    cloud.seed(addresses(20))
    campaign = new_campaign(cloud, status=CampaignStatus.QUEUED)

    # When the campaign is prepared (twice: a retried step)
    plan = step(cloud, "prepare", campaign)
    again = step(cloud, "prepare", campaign)

    # Then it goes to everyone at once
    assert plan == again == {"sample": False, "window_seconds": 14_400}
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.status, found.target_count, found.new_count, found.sample_size) == ("sending", 20, 20, 0)

    # And the rest of the state machine sends it to everyone, once, and finishes
    loop(cloud, "send", campaign, phase="main")
    loop(cloud, "send", campaign, phase="main")
    assert step(cloud, "finish", campaign) == step(cloud, "finish", campaign) == {"status": "sent"}
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(20), 1)


def test_many_new_contacts_get_a_sample_first(cloud: Cloud, small_sample: None) -> None:
    # Given 40 never-mailed contacts, 5 mailed before, and 3 the campaign may not mail
    cloud.seed(addresses(45))
    set_fields_mailed(cloud, addresses(5, start=40))
    cloud.seed(addresses(3, start=100), flag=FlagStatus.DECLINED, import_id="bought")
    campaign = new_campaign(cloud, status=CampaignStatus.QUEUED)

    # When it is prepared, twice
    plan = step(cloud, "prepare", campaign)
    step(cloud, "prepare", campaign)

    # Then a sample of 10 is drawn from the 40 new ones, the same on the replay
    assert plan["sample"] is True
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.status, found.target_count, found.new_count, found.sample_size) == ("sampling", 45, 40, 10)
    sample = sample_keys(cloud, campaign.campaign_id)
    assert len(sample) == 10 and sample <= set(addresses(40))

    # When the sample is sent (the loop of send steps, then again)
    loop(cloud, "send", campaign, phase="sample")
    loop(cloud, "send", campaign, phase="sample")

    # Then exactly the sample got it, once
    assert campaign_recipients(cloud) == dict.fromkeys(sample, 1)


def test_a_send_step_stops_at_its_deadline_and_the_next_goes_on_where_it_stopped(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given pages of 20 contacts, and 50 contacts
    monkeypatch.setattr("listguard.flows.campaigns.targets.PAGE_SIZE", 20)
    cloud.seed(addresses(50))
    campaign = new_campaign(cloud)
    steps = CampaignSteps(services(cloud))
    ref = CampaignRef(ACCOUNT, campaign.campaign_id)

    # When a step has no time left after its first page
    first = steps.send(ref, SendPhase.MAIN, attempt="a", deadline=0.0)

    # Then it stops, its place kept on the campaign (the state machine's history holds no address)
    assert first["done"] is False and first["sent"] == 20
    assert set(first) == {"done", "sent", "unknown", "taken", "not_sendable"}
    second = steps.send(ref, SendPhase.MAIN, attempt="b", deadline=0.0)
    third = steps.send(ref, SendPhase.MAIN, attempt="c", deadline=0.0)
    assert (second["sent"], third["sent"], third["done"]) == (20, 10, True)
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(50), 1)

    # And once done, the loop is done (a resumed campaign goes past it)
    done = steps.send(ref, SendPhase.MAIN, attempt="d", deadline=0.0)
    assert (done["done"], done["sent"], done["taken"]) == (True, 0, 0)

    # And a page done again (an invocation that failed before its place was kept) sends nothing again
    set_fields(cloud, campaign, loop_main=sorted(addresses(50))[19])
    again = steps.send(ref, SendPhase.MAIN, attempt="e", deadline=0.0)
    assert (again["sent"], again["taken"]) == (0, 20)


def test_the_window_holds_the_token_and_an_early_evaluation_ends_it(cloud: Cloud, small_sample: None) -> None:
    campaign = sampled(cloud)

    # When the window opens
    step(cloud, "await_window", campaign, token="token-1")

    # Then the campaign is observing, with its token and the sample's sent count
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.status, found.sample_sent) == ("observing", 10)
    assert found.window_ends_at is not None
    assert services(cloud).campaigns.task_token(ACCOUNT, campaign.campaign_id) == "token-1"

    # And an operator's evaluation records the request (the token is gone: nothing waits on it here)
    actions(cloud).evaluate(ACCOUNT, campaign.campaign_id)
    assert actions(cloud).get(ACCOUNT, campaign.campaign_id).evaluate_requested_at is not None


@pytest.mark.parametrize(
    ("hard_bounces", "complaints", "decision", "status"),
    [(0, 0, "continue", "sending"), (1, 0, "pause", "paused"), (0, 1, "pause", "paused")],
)
def test_the_decision_at_the_published_thresholds(
    cloud: Cloud, small_sample: None, hard_bounces: int, complaints: int, decision: str, status: str
) -> None:
    # Given a sample of 10 sent, and what SES said of it (1 in 10: over 5% and over 0.1%)
    campaign = sampled(cloud)
    step(cloud, "await_window", campaign, token="t")
    set_fields(cloud, campaign, sample_hard_bounces=hard_bounces, sample_complaints=complaints)

    # When the window ends (twice: a retried step, or the operator and the timeout at once)
    results = [step(cloud, "evaluate", campaign), step(cloud, "evaluate", campaign)]

    # Then the thresholds decided, once
    assert results == [{"decision": decision}] * 2
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.status, found.decision) == (status, decision)
    paused = [c.campaign_id for c in services(cloud).campaigns.paused()]
    assert paused == ([campaign.campaign_id] if decision == "pause" else [])
    if decision == "pause":
        assert found.check_import_id == f"{campaign.campaign_id}-check-1"


def test_a_pause_holds_the_unsent_new_contacts_and_asks_for_their_check(
    cloud: Cloud, small_sample: None
) -> None:
    # Given a paused campaign: 40 new contacts (10 got the sample), 5 mailed before
    campaign = sampled(cloud, mailed_before=5)
    step(cloud, "await_window", campaign, token="t")
    set_fields(cloud, campaign, sample_hard_bounces=3)
    step(cloud, "evaluate", campaign)

    # When the pause steps run, and run again
    for _ in range(2):
        loop(cloud, "hold", campaign)
        result = step(cloud, "request_check", campaign)

    # Then the 30 unsent new contacts are pending, held by the check import, and nobody else is
    check = f"{campaign.campaign_id}-check-1"
    assert result == {"held": 30, "check_import_id": check}
    held = {c.email for c in cloud.contact_store.flagged_by(ACCOUNT, check)}
    assert held == set(addresses(40)) - sample_keys(cloud, campaign.campaign_id)
    assert {c.flag_status for c in cloud.contact_store.flagged_by(ACCOUNT, check)} == {FlagStatus.PENDING}
    assert cloud.contact_store.count_by_flag(ACCOUNT, FlagStatus.PENDING) == 30

    # And their addresses are an ordinary import file of the account (the S3 event starts the check)
    body = cloud.read(keys.campaign_check_object_key(ACCOUNT, campaign.campaign_id, 1)).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["email"] and {row[0] for row in rows[1:]} == held

    # And the customer was told once
    events = [event for event in map(flag_event_type, cloud.flag_events()) if event == "campaign_paused"]
    assert events == ["campaign_paused"]
    assert actions(cloud).get(ACCOUNT, campaign.campaign_id).held_count == 30


def test_a_sample_that_nothing_confirmed_leaves_nothing_to_decide(cloud: Cloud, small_sample: None) -> None:
    # Given a sample whose every send is unknown (SES never answered)
    campaign = sampled(cloud, send=False)
    ledger = SendLedger(cloud.table)
    for key in sample_keys(cloud, campaign.campaign_id):
        ledger.claim(
            ACCOUNT,
            campaign.campaign_id,
            contact_key=key,
            email=key,
            phase=SendPhase.SAMPLE,
            attempt="a",
            now="t",
        )
        ledger.mark_unknown(ACCOUNT, campaign.campaign_id, key, error="ReadTimeoutError")
    step(cloud, "await_window", campaign, token="t")

    # Then the decision is an error the state machine records as the campaign's failure
    with pytest.raises(NoSampleSentError):
        step(cloud, "evaluate", campaign)
    step(
        cloud,
        "fail",
        campaign,
        error="NoSampleSentError",
        cause=json.dumps({"errorMessage": "no email of the sample"}),
    )
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.status, found.failed_from, found.error) == (
        "failed",
        "observing",
        "NoSampleSentError: no email of the sample",
    )


def test_a_sample_email_whose_answer_was_lost_counts_in_the_rates_once_ses_confirmed_others(
    cloud: Cloud, small_sample: None
) -> None:
    # Given a sample of 10: 9 confirmed by SES, one whose answer was lost (unknown), and one hard bounce
    campaign = sampled(cloud, send=False)
    ledger = SendLedger(cloud.table)
    for index, key in enumerate(sorted(sample_keys(cloud, campaign.campaign_id))):
        ledger.claim(
            ACCOUNT,
            campaign.campaign_id,
            contact_key=key,
            email=key,
            phase=SendPhase.SAMPLE,
            attempt="a",
            now="t",
        )
        if index == 0:
            ledger.mark_unknown(ACCOUNT, campaign.campaign_id, key, error="ReadTimeoutError")
        else:
            ledger.mark_sent(ACCOUNT, campaign.campaign_id, key, message_id=f"m-{index}", now="t")
    step(cloud, "await_window", campaign, token="t")
    set_fields(cloud, campaign, sample_hard_bounces=1)

    # When the window ends
    step(cloud, "evaluate", campaign)

    # Then the rates are over the 10 emails SES most likely took, as without the lost answer
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert found.sample_sent == 10
    assert "1 of 10 sample emails" in " ".join(found.decision_reasons or [])


def test_a_failed_campaign_resumes_where_it_failed(cloud: Cloud, small_sample: None) -> None:
    # Given a campaign that failed while sending its sample (the failure recorded twice: a retried step)
    campaign = sampled(cloud)
    step(cloud, "fail", campaign, error="States.Timeout", cause=json.dumps({"errorMessage": "x@y.com"}))
    step(cloud, "fail", campaign, error="States.Timeout")

    # Then the customer was told once, with the error's name and never its message
    failed = [event for event in cloud.flag_events() if flag_event_type(event) == "campaign_failed"]
    assert len(failed) == 1
    assert "States.Timeout" in json.dumps(failed[0]) and "x@y.com" not in json.dumps(failed[0])

    # When it is sent again
    resumed = actions(cloud).start(ACCOUNT, campaign.campaign_id)

    # Then a new attempt is queued, and its first step puts it back where it was
    assert (resumed.status, resumed.attempts) == ("queued", 1)
    assert resumed.error is None
    step(cloud, "prepare", campaign)
    assert actions(cloud).get(ACCOUNT, campaign.campaign_id).status == "sampling"
    # And the sample is not sent again
    loop(cloud, "send", campaign, phase="sample")
    assert sum(campaign_recipients(cloud).values()) == 10


def test_a_step_for_a_campaign_elsewhere_ends_quietly(cloud: Cloud) -> None:
    campaign = new_campaign(cloud, status=CampaignStatus.DRAFT)
    with pytest.raises(CampaignMovedError):
        step(cloud, "prepare", campaign)
    with pytest.raises(CampaignMovedError):
        step(cloud, "send", campaign, phase="main")


# -- helpers ------------------------------------------------------------------------------------------


def sampled(cloud: Cloud, *, mailed_before: int = 0, send: bool = True) -> Campaign:
    """A campaign whose sample of 10 (of 40 new contacts) was chosen, and sent unless ``send`` is False."""
    cloud.seed(addresses(40 + mailed_before))
    set_fields_mailed(cloud, addresses(mailed_before, start=40))
    campaign = new_campaign(cloud, status=CampaignStatus.QUEUED)
    step(cloud, "prepare", campaign)
    if send:
        loop(cloud, "send", campaign, phase="sample")
    return campaign


def set_fields_mailed(cloud: Cloud, emails: list[str]) -> None:
    for address in emails:
        cloud.table.update(
            {"pk": keys.account_pk(ACCOUNT), "sk": keys.contact_sk(address)},
            update="SET last_mailed_at = :at",
            values={":at": "2026-01-01T00:00:00.000+00:00"},
        )


def sample_keys(cloud: Cloud, campaign_id: str) -> set[str]:
    page = SendLedger(cloud.table).sample_page(ACCOUNT, campaign_id, after=None, limit=1_000)
    return {item["email_key"] for item in page.items}


def flag_event_type(event: dict[str, object]) -> str:
    message = json.loads(str(event["Message"]))
    return str(message["event_type"])


def test_a_create_retried_with_its_request_id_finds_the_same_campaign(cloud: Cloud) -> None:
    created = actions(cloud).create(ACCOUNT, subject="Spring sale", text="Hello", request_id="spring")
    again = actions(cloud).create(ACCOUNT, subject="Spring sale", text="Hello", request_id="spring")

    assert again.campaign_id == created.campaign_id == keys.campaign_id_for(ACCOUNT, "spring")
    assert again.created_at == created.created_at
    assert [c.campaign_id for c in actions(cloud).list(ACCOUNT)] == [created.campaign_id]
    with pytest.raises(CampaignError, match="another --request-id"):
        actions(cloud).create(ACCOUNT, subject="Summer sale", text="Hello", request_id="spring")
    other = actions(cloud).create(ACCOUNT, subject="Spring sale", text="Hello")
    assert other.campaign_id != created.campaign_id
