"""Campaigns end to end on the local cloud, through the console: the campaign state machine (its ASL,
executed by moto), SES, the feedback topic and function, the check import of a pause (S3 -> import_check
-> the import lifecycle), and the requeue job invoked as its schedule would."""

from __future__ import annotations

import email
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from listguard.domain.keys import import_object_key
from listguard.stores.campaigns import campaign_key
from listguard_console.cli import app
from listguard_console.localcloud import LocalCloud
from listguard_console.localcloud.motocompat import sent_emails
from listguard_console.stack import Stack, current

pytestmark = pytest.mark.e2e

ACCOUNT = "acme"
# A sample of 10 from 30 never-mailed contacts; no rate to wait for; a check from 25 new contacts (the
# lists are imported in pieces of 20, which need none).
ENVIRONMENT = {
    "LISTGUARD_SAMPLE_SIZE": "10",
    "LISTGUARD_SAMPLE_MIN_NEW_CONTACTS": "30",
    "LISTGUARD_SEND_RATE_PER_SECOND": "1000",
    "LISTGUARD_CHECK_MIN_NEW_CONTACTS": "25",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.start(environment=ENVIRONMENT) as local, current(local):
        Stack(local).accounts.set_email(ACCOUNT, "owner@acme.example", now="2026-11-30T00:00:00+00:00")
        yield local


def listguard(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_contacts(cloud: LocalCloud, name: str, count: int, *, source: str) -> None:
    """``count`` contacts, in pieces of 20 (each too small to need a check): imported sendable."""
    for piece, start in enumerate(range(0, count, 20)):
        rows = range(start, min(start + 20, count))
        body = "email,source\n" + "".join(f"{source}{i}@example.com,{source}\n" for i in rows)
        key = import_object_key(ACCOUNT, f"{name}-{piece}.csv")
        cloud.client("s3").put_object(Bucket=cloud.outputs["ImportsBucketName"], Key=key, Body=body.encode())
        assert listguard("imports", "show", f"{name}-{piece}", "--account", ACCOUNT)["status"] == "imported"


def campaign_until(
    campaign_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        document: dict[str, Any] = listguard("campaigns", "show", campaign_id, "--account", ACCOUNT)
        if done(document):
            return document
        assert document["status"] != "failed", document["error"]
        assert time.monotonic() < deadline, f"campaign {campaign_id} still {document['status']}"
        time.sleep(0.1)


def import_until(import_id: str, done: Callable[[str], bool], timeout: float = 30.0) -> str:
    """The import's status once ``done`` says so (its state machine moves it on another thread)."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(listguard("imports", "show", import_id, "--account", ACCOUNT)["status"])
        if done(status):
            return status
        assert time.monotonic() < deadline, f"import {import_id} still {status}"
        time.sleep(0.1)


def emails_of(campaign_id: str) -> Counter[str]:
    messages = map(email.message_from_string, sent_emails())
    return Counter(str(m["To"]) for m in messages if m["X-Listguard-Campaign"] == campaign_id)


def test_a_campaign_to_few_new_contacts_goes_to_its_segment_at_once(cloud: LocalCloud) -> None:
    # Given 20 contacts from a fair and 5 from the shop
    import_contacts(cloud, "fair", 20, source="fair")
    import_contacts(cloud, "shop", 5, source="shop")

    # When a campaign to the fair's contacts is created and sent
    created = listguard(
        "campaigns",
        "create",
        "--account",
        ACCOUNT,
        "--subject",
        "Hello",
        "--text",
        "Hi",
        "--segment",
        "source=fair",
    )
    campaign_id = created["campaign_id"]
    assert created["status"] == "draft"
    listguard("campaigns", "send", campaign_id, "--account", ACCOUNT)

    # Then every one of them got it once (20 < 30 never-mailed contacts: no sample), nobody else
    done = campaign_until(campaign_id, lambda d: d["status"] == "sent")
    assert (done["sent"], done["remaining"], done["sample"], done["target"]) == (20, 0, None, 20)
    assert emails_of(campaign_id) == dict.fromkeys((f"fair{i}@example.com" for i in range(20)), 1)
    recipients = listguard("campaigns", "recipients", campaign_id, "--account", ACCOUNT)
    assert sorted(recipients) == sorted(f"fair{i}@example.com" for i in range(20))
    [listed] = listguard("campaigns", "list", "--account", ACCOUNT)
    assert (listed["campaign_id"], listed["status"]) == (campaign_id, "sent")


def test_bounces_pause_a_sample_and_the_requeue_sends_the_rest_once_marked(cloud: LocalCloud) -> None:
    # Given 40 never-mailed contacts
    import_contacts(cloud, "fair", 40, source="fair")
    campaign_id = listguard("campaigns", "create", "--account", ACCOUNT, "--subject", "Sale", "--text", "Hi")[
        "campaign_id"
    ]

    # When the campaign is sent: a sample of 10 goes first, and the window opens
    listguard("campaigns", "send", campaign_id, "--account", ACCOUNT)
    observing = campaign_until(campaign_id, lambda d: d["status"] == "observing")
    assert (observing["sample"]["size"], observing["sample"]["sent"], observing["remaining"]) == (10, 10, 30)
    sample = listguard("campaigns", "recipients", campaign_id, "--account", ACCOUNT)
    assert len(sample) == 10

    # And SES reports two hard bounces (20% of the sample), then an operator ends the window
    for address in sample[:2]:
        listguard(
            "feedback", "simulate", "--bounce", address, "--campaign", campaign_id, "--account", ACCOUNT
        )
    listguard("campaigns", "evaluate", campaign_id, "--account", ACCOUNT)

    # Then it pauses: the 30 unsent new contacts are held for a check, which the import lifecycle runs
    paused = campaign_until(campaign_id, lambda d: d["status"] == "paused" and d["check"]["held"] is not None)
    assert paused["sample"]["decision"] == "pause"
    assert (paused["sample"]["hard_bounces"], paused["sample"]["bounce_rate"]) == (2, 0.2)
    assert paused["check"]["held"] == 30
    check = paused["check"]["import_id"]
    assert (
        import_until(check, lambda status: status not in ("received", "verifying")) == "awaiting_confirmation"
    )
    held = listguard("contacts", "list", "--account", ACCOUNT, "--flag", "pending")
    assert len(held) == 30 and {c["flagged_by"] for c in held} == {check}
    blocklisted = listguard("contacts", "list", "--account", ACCOUNT, "--subscription", "blocklisted")
    assert {c["email"] for c in blocklisted} == set(sample[:2])

    # When the customer continues with the check (clean addresses: validated) and the job runs
    listguard("imports", "confirm", check, "--account", ACCOUNT)
    assert (
        import_until(check, lambda status: status not in ("verifying", "awaiting_confirmation"))
        == "validated"
    )
    waiting = listguard("campaigns", "requeue", campaign_id, "--account", ACCOUNT)

    # Then the check is settled, but nothing is sent before a remediation marks the campaign
    assert (waiting["check_settled"], waiting["sent"]) == ("validated", 0)
    assert waiting["skipped_reason"] == "not marked for requeue by a remediation yet"

    # When a remediation marks it, and the job runs (twice: the schedule's next run)
    Stack(cloud).table.update(
        campaign_key(ACCOUNT, campaign_id),
        update="SET requeue_requested_by = :by, requeue_requested_at = :at",
        condition="attribute_exists(pk)",
        values={":by": "r-1", ":at": "2026-12-01T00:00:00.000+00:00"},
    )
    report = listguard("campaigns", "requeue", campaign_id, "--account", ACCOUNT)
    again = listguard("campaigns", "requeue", campaign_id, "--account", ACCOUNT)

    # Then the 30 held contacts got it (8 had it from the sample; the 2 that bounced are blocklisted),
    # nobody twice, and the campaign is sent
    assert (report["sent"], report["taken"], report["still_flagged"], report["status"]) == (30, 8, 0, "sent")
    assert again["sent"] == 0
    assert emails_of(campaign_id) == dict.fromkeys((f"fair{i}@example.com" for i in range(40)), 1)
    done = listguard("campaigns", "show", campaign_id, "--account", ACCOUNT)
    assert (done["status"], done["sent"], done["sent_by_phase"]) == (
        "sent",
        40,
        {"sample": 10, "requeue": 30},
    )
    assert done["requeue"]["requeued_by"] == "r-1"
    # And the customer was told of the pause
    events = [note["event_type"] for note in listguard("notifications", "list", "--account", ACCOUNT)]
    assert "campaign_paused" in events


def test_a_sample_under_the_thresholds_continues_to_everyone_when_its_window_ends(cloud: LocalCloud) -> None:
    import_contacts(cloud, "fair", 40, source="fair")
    campaign_id = listguard("campaigns", "create", "--account", ACCOUNT, "--subject", "Sale", "--text", "Hi")[
        "campaign_id"
    ]
    listguard("campaigns", "send", campaign_id, "--account", ACCOUNT)
    campaign_until(campaign_id, lambda d: d["status"] == "observing")
    # A soft bounce counts, but decides nothing
    [first, *_] = listguard("campaigns", "recipients", campaign_id, "--account", ACCOUNT)
    listguard("feedback", "simulate", "--soft-bounce", first, "--campaign", campaign_id, "--account", ACCOUNT)

    listguard("campaigns", "evaluate", campaign_id, "--account", ACCOUNT)

    done = campaign_until(campaign_id, lambda d: d["status"] == "sent")
    assert (done["sample"]["decision"], done["sample"]["soft_bounces"], done["sent"]) == ("continue", 1, 40)
    assert emails_of(campaign_id) == dict.fromkeys((f"fair{i}@example.com" for i in range(40)), 1)


def test_a_create_run_again_with_its_request_id_finds_the_same_campaign(cloud: LocalCloud) -> None:
    create = ("campaigns", "create", "--account", ACCOUNT, "--subject", "Sale", "--text", "Hi")
    first = listguard(*create, "--request-id", "spring-sale")
    assert listguard(*create, "--request-id", "spring-sale") == first
    assert listguard(*create)["campaign_id"] != first["campaign_id"]
    # The same request with another text is refused, with what to do
    result = CliRunner().invoke(app, [*create[:-1], "Hello", "--request-id", "spring-sale"])
    assert result.exit_code == 2 and "give another --request-id" in result.stderr
    assert [c["campaign_id"] for c in listguard("campaigns", "list", "--account", ACCOUNT)].count(
        first["campaign_id"]
    ) == 1


BAD_INPUT = [
    (["campaigns", "create", "--subject", "S", "--text", "T", "--segment", "x"], "COLUMN=VALUE"),
    (["campaigns", "create", "--subject", "S", "--text", " "], "text body"),
    (["campaigns", "create", "--subject", "S", "--text", "T", "--sender", "nobody"], "not an email address"),
    (["campaigns", "create", "--subject", "S", "--text", "T", "--request-id", "a b"], "request id 'a b'"),
    (["campaigns", "show", "c-000000000000"], "no campaign c-000000000000"),
    (["campaigns", "send", "c#1"], "campaign id 'c#1' is not allowed"),
    (["feedback", "simulate", "--campaign", "c-1"], "exactly one of --bounce"),
]


def test_bad_input_is_one_error_line(cloud: LocalCloud) -> None:
    for args, message in BAD_INPUT:
        result = CliRunner().invoke(app, [*args, "--account", ACCOUNT])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: ") and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_window_ends_on_its_own_and_the_thresholds_decide() -> None:
    # Given a window of one second (ObservationWindowSeconds): nobody ends it early
    short_window = ENVIRONMENT | {"LISTGUARD_OBSERVATION_WINDOW_SECONDS": "1"}
    with LocalCloud.start(environment=short_window) as local, current(local):
        import_contacts(local, "fair", 40, source="fair")
        created = listguard("campaigns", "create", "--account", ACCOUNT, "--subject", "S", "--text", "T")

        # When it is sent
        listguard("campaigns", "send", created["campaign_id"], "--account", ACCOUNT)

        # Then the state machine's timeout ends the window, and the clean sample lets it go on
        done = campaign_until(created["campaign_id"], lambda d: d["status"] == "sent")
        assert (done["sample"]["decision"], done["sent"]) == ("continue", 40)


def test_only_a_campaign_in_its_window_can_be_evaluated(cloud: LocalCloud) -> None:
    campaign_id = listguard("campaigns", "create", "--account", ACCOUNT, "--subject", "S", "--text", "T")[
        "campaign_id"
    ]
    result = CliRunner().invoke(app, ["campaigns", "evaluate", campaign_id, "--account", ACCOUNT])
    assert result.exit_code == 2
    assert "is draft: only a campaign sending or observing its sample can be evaluated" in result.stderr
