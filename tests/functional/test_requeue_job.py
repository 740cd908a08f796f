"""The requeue job on moto: a paused campaign's check settles, and once a remediation marks it, the
campaign goes to every contact of its target who is sendable and has not received it. Two runs at once
mail nobody twice."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from campaign_cloud import actions, addresses, campaign_recipients, loop, new_campaign, set_fields, step
from functional_cloud import ACCOUNT, Cloud
from harness import run_handler

from listguard.domain import keys
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus, FlagStatus, ImportStatus
from listguard.stores.dynamo import Item


@pytest.fixture(autouse=True)
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTGUARD_SAMPLE_SIZE", "10")
    monkeypatch.setenv("LISTGUARD_SAMPLE_MIN_NEW_CONTACTS", "30")
    monkeypatch.setenv("LISTGUARD_SEND_RATE_PER_SECOND", "1000")


def paused_campaign(cloud: Cloud) -> Campaign:
    """40 new contacts and 5 mailed before; a sample of 10 went out, bounced, and the campaign paused:
    the 30 unsent new contacts are held for their check, whose file is uploaded."""
    cloud.seed(addresses(45))
    for address in addresses(5, start=40):
        cloud.table.update(
            {"pk": keys.account_pk(ACCOUNT), "sk": keys.contact_sk(address)},
            update="SET last_mailed_at = :at",
            values={":at": "2026-01-01T00:00:00.000+00:00"},
        )
    campaign = new_campaign(cloud, status=CampaignStatus.QUEUED)
    step(cloud, "prepare", campaign)
    loop(cloud, "send", campaign, phase="sample")
    step(cloud, "await_window", campaign, token="t")
    set_fields(cloud, campaign, sample_hard_bounces=2)
    assert step(cloud, "evaluate", campaign) == {"decision": "pause"}
    loop(cloud, "hold", campaign)
    step(cloud, "request_check", campaign)
    return campaign


def requeue(cloud: Cloud, campaign: Campaign | None = None) -> list[dict[str, Any]]:
    """One run of the job: the schedule's event, or the console's for one campaign."""
    if campaign is None:
        event: dict[str, Any] = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    else:
        event = {"campaign": {"account": campaign.account, "campaign_id": campaign.campaign_id}}
    reports: list[dict[str, Any]] = run_handler("requeue", event, environment=cloud.environment)["campaigns"]
    return reports


def run_the_check(cloud: Cloud) -> str:
    """The S3 event of the check file reaches import_check (no check required for 30 contacts)."""
    messages = cloud.sqs.receive_message(QueueUrl=cloud.events_queue_url, MaxNumberOfMessages=10)
    events = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    for message in messages.get("Messages", []):
        cloud.sqs.delete_message(QueueUrl=cloud.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
    [event] = [event for event in events if "Records" in event]
    [result] = cloud.invoke(event)["results"]
    return str(result["status"])


def mark_for_requeue(cloud: Cloud, campaign: Campaign, remediation: str = "r-1") -> None:
    """What a remediation writes on the campaign (its own module does it with this conditional update)."""
    cloud.table.update(
        {"pk": keys.account_pk(campaign.account), "sk": keys.campaign_sk(campaign.campaign_id)},
        update="SET requeue_requested_by = :by, requeue_requested_at = :at",
        condition="attribute_exists(pk)",
        values={":by": remediation, ":at": "2026-12-02T00:00:00.000+00:00"},
    )


def test_an_unmarked_paused_campaign_waits_and_its_contacts_stay_held(cloud: Cloud) -> None:
    paused_campaign(cloud)

    [report] = requeue(cloud)

    assert report["skipped_reason"] == "not marked for requeue by a remediation yet"
    assert report["sent"] == 0 and report["check_settled"] is None  # the check has not run
    assert sum(campaign_recipients(cloud).values()) == 10
    assert cloud.contact_store.count_by_flag(ACCOUNT, FlagStatus.PENDING) == 30


def test_the_requeue_sends_to_everyone_sendable_who_did_not_get_it_once_marked(cloud: Cloud) -> None:
    # Given a paused campaign whose check imported its 30 held contacts (too few to need a check)
    campaign = paused_campaign(cloud)
    assert run_the_check(cloud) == ImportStatus.IMPORTED

    # When the job runs: it settles the check; the remediation marks the campaign; the job runs again
    [settled] = requeue(cloud)
    assert settled["check_settled"] == "imported"
    assert cloud.contact_store.count_by_flag(ACCOUNT, FlagStatus.PENDING) == 0
    mark_for_requeue(cloud, campaign)
    [report] = requeue(cloud, campaign)

    # Then the 30 held and the 5 mailed before got it now; the sample not again
    assert (report["sent"], report["taken"], report["still_flagged"], report["status"]) == (35, 10, 0, "sent")
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(45), 1)
    found = actions(cloud).get(ACCOUNT, campaign.campaign_id)
    assert (found.status, found.requeued_by) == (CampaignStatus.SENT, "r-1")
    assert list(actions(cloud).s.campaigns.paused()) == []

    # And the next scheduled run has nothing to do
    assert requeue(cloud) == []


def test_two_overlapping_runs_mail_nobody_twice(cloud: Cloud) -> None:
    campaign = paused_campaign(cloud)
    run_the_check(cloud)
    requeue(cloud)
    mark_for_requeue(cloud, campaign)
    reports: list[dict[str, Any]] = []

    runs = [threading.Thread(target=lambda: reports.extend(requeue(cloud))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert sum(report["sent"] for report in reports) == 35
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(45), 1)
    assert actions(cloud).get(ACCOUNT, campaign.campaign_id).status == CampaignStatus.SENT


def test_contacts_still_pending_keep_the_campaign_paused_until_they_are_cleared(cloud: Cloud) -> None:
    # Given a marked campaign whose check has not run yet: its 30 held contacts are still pending
    campaign = paused_campaign(cloud)
    mark_for_requeue(cloud, campaign)

    # When the job runs
    [report] = requeue(cloud, campaign)

    # Then only the 5 sendable ones got it; the campaign waits for the others
    assert (report["sent"], report["still_flagged"], report["status"]) == (5, 30, "paused")

    # When the check clears them, the next run sends to them and the campaign is sent
    run_the_check(cloud)
    [report] = requeue(cloud, campaign)
    assert (report["check_settled"], report["sent"], report["still_flagged"], report["status"]) == (
        "imported",
        30,
        0,
        "sent",
    )
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(45), 1)


def test_a_run_that_runs_out_of_time_keeps_its_place_for_the_next(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from campaign_cloud import services

    from listguard.flows.campaigns.requeue import Requeue
    from listguard.flows.campaigns.steps import CampaignRef

    campaign = paused_campaign(cloud)
    run_the_check(cloud)
    requeue(cloud)
    mark_for_requeue(cloud, campaign)
    # (pages of 20 contacts, so that a run stops after its first page)
    monkeypatch.setattr("listguard.flows.campaigns.targets.PAGE_SIZE", 20)
    job = Requeue(services(cloud))
    only = CampaignRef(ACCOUNT, campaign.campaign_id)
    first = job.run(only=only, attempt="a", deadline=0.0)
    rest = job.run(only=only, attempt="b", deadline=float("inf"))

    assert first[0].done is False and first[0].sent > 0
    assert rest[0].done is True and first[0].sent + rest[0].sent == 35
    assert campaign_recipients(cloud) == dict.fromkeys(addresses(45), 1)


@pytest.mark.parametrize(
    ("status", "flag"),
    [
        (ImportStatus.VALIDATED, FlagStatus.NONE),
        (ImportStatus.IMPORTED, FlagStatus.NONE),
        (ImportStatus.DECLINED, FlagStatus.DECLINED),
        (ImportStatus.CANCELLED, FlagStatus.DECLINED),
        (ImportStatus.REJECTED, FlagStatus.DECLINED),
        (ImportStatus.IN_REVIEW, FlagStatus.PENDING),
        (ImportStatus.AWAITING_CONFIRMATION, FlagStatus.PENDING),
    ],
)
def test_the_held_contacts_get_the_flag_their_check_ended_with(
    cloud: Cloud, status: ImportStatus, flag: FlagStatus
) -> None:
    # Given a paused campaign whose check import rests at ``status``
    campaign = paused_campaign(cloud)
    check = keys.campaign_check_import_id(campaign.campaign_id, 1)
    claim_import(cloud, check, status)

    # When the job settles it
    requeue(cloud)

    # Then the held contacts have the flag the check says (pending while it waits)
    flags = {c.flag_status for c in cloud.contact_store.list(ACCOUNT) if c.flagged_by == check}
    assert flags == ({flag} if flag is not FlagStatus.NONE else set())
    if flag is FlagStatus.NONE:
        assert cloud.contact_store.count_by_flag(ACCOUNT, FlagStatus.PENDING) == 0
    settled = actions(cloud).get(ACCOUNT, campaign.campaign_id).check_status
    assert settled == (None if flag is FlagStatus.PENDING else str(status))


def test_a_cleared_check_declines_each_held_contact_whose_own_verdict_bounces(cloud: Cloud) -> None:
    # Given a paused campaign whose check found two of the held contacts at disposable domains
    campaign = paused_campaign(cloud)
    check = keys.campaign_check_import_id(campaign.campaign_id, 1)
    held = sorted(c.email for c in cloud.contact_store.flagged_by(ACCOUNT, check))
    for address in held[:2]:
        cloud.table.update(
            {"pk": keys.account_pk(ACCOUNT), "sk": keys.contact_sk(address)},
            update="SET verdict = :disposable ADD #rev :one",
            names={"#rev": "rev"},
            values={":disposable": "disposable", ":one": 1},
        )

    # When the check import validates the file, and the job settles it
    claim_import(cloud, check, ImportStatus.VALIDATED)
    requeue(cloud)

    # Then those two are declined (still found by the check import), the other 28 are sendable
    declined = {c.email for c in cloud.contact_store.list(ACCOUNT, flag=FlagStatus.DECLINED)}
    assert declined == set(held[:2])
    assert {c.email for c in cloud.contact_store.flagged_by(ACCOUNT, check)} == set(held[:2])
    sendable = {c.email for c in cloud.contact_store.list(ACCOUNT, flag=FlagStatus.NONE)}
    assert set(held[2:]) <= sendable


def test_a_failed_check_is_uploaded_again(cloud: Cloud) -> None:
    campaign = paused_campaign(cloud)
    check = keys.campaign_check_import_id(campaign.campaign_id, 1)
    run_the_check(cloud)  # the first upload's event (its check is replaced below by a failed one)
    claim_import(cloud, check, ImportStatus.FAILED)

    requeue(cloud)

    # Then the same file was uploaded again (a new S3 event: the check retries), nothing settled
    assert run_the_check(cloud) == ImportStatus.IMPORTED
    assert actions(cloud).get(ACCOUNT, campaign.campaign_id).check_status is None


def claim_import(cloud: Cloud, import_id: str, status: ImportStatus) -> None:
    """The check import's record at ``status`` (as the import lifecycle would leave it)."""
    key = keys.import_object_key(ACCOUNT, f"{import_id}.csv")
    item: Item = {
        "pk": keys.account_pk(ACCOUNT),
        "sk": keys.import_sk(import_id),
        "type": "import",
        "account": ACCOUNT,
        "import_id": import_id,
        "status": str(status),
        "etag": "e",
        "source_key": key,
    }
    cloud.table.put(item)
