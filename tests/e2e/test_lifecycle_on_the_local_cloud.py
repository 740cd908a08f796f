"""The whole import lifecycle on the local cloud: S3 -> import_check -> the import state machine (its ASL,
executed by moto) -> the customer's and the operators' console commands -> contacts and notifications.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from listguard.domain import AccountStanding, EventType, FlagStatus, ImportStatus
from listguard.domain.keys import import_object_key
from listguard_console.cli import app
from listguard_console.localcloud import LocalCloud
from listguard_console.stack import Stack, current

pytestmark = pytest.mark.e2e

ACCOUNT = "acme"
CUSTOMER = "owner@acme.example"
# Small lists keep moto fast: a check is required from 50 new contacts here (1,000 when deployed).
ENVIRONMENT = {
    "LISTGUARD_CHECK_MIN_NEW_CONTACTS": "50",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.start(environment=ENVIRONMENT) as local, current(local):
        Stack(local).accounts.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
        yield local


def listguard(*args: str) -> Any:
    """Runs a console command against the local cloud; returns its JSON output."""
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def contacts_csv(good: int, *, disposable: int = 0, first: int = 0) -> bytes:
    lines = ["email,first_name"]
    lines += [f"person{i}@example.com,Person {i}" for i in range(first, first + good)]
    lines += [f"temp{i}@mailinator.com,Temp {i}" for i in range(disposable)]
    return ("\n".join(lines) + "\n").encode()


def upload(cloud: LocalCloud, name: str, body: bytes) -> None:
    bucket = cloud.outputs["ImportsBucketName"]
    cloud.client("s3").put_object(Bucket=bucket, Key=import_object_key(ACCOUNT, f"{name}.csv"), Body=body)


def rests(import_id: str, *, besides: str = "", timeout: float = 20.0) -> dict[str, Any]:
    """The import once its state machine has brought it to a status where it rests."""
    deadline = time.monotonic() + timeout
    while True:
        document: dict[str, Any] = listguard("imports", "show", import_id, "--account", ACCOUNT)
        if ImportStatus(document["status"]).rests and document["status"] != besides:
            return document
        assert time.monotonic() < deadline, f"import {import_id} still {document['status']}"
        time.sleep(0.1)


def flags(*, flag: str | None = None) -> list[str]:
    args = ["contacts", "list", "--account", ACCOUNT, *(["--flag", flag] if flag else [])]
    return [contact["flag"] for contact in listguard(*args)]


def events(*, latest: str | None = None, count: int | None = None, timeout: float = 10.0) -> list[str]:
    """The account's notifications, newest first; waits until the latest is ``latest`` (or there are
    ``count``): a step tells the customer just after it moves the import."""
    deadline = time.monotonic() + timeout
    while True:
        found = [note["event_type"] for note in listguard("notifications", "list", "--account", ACCOUNT)]
        if (latest is None or found[:1] == [latest]) and (count is None or len(found) == count):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_clean_list_is_confirmed_then_validated(cloud: LocalCloud) -> None:
    # Given a clean list of 80 new contacts (a check is required)
    upload(cloud, "clean", contacts_csv(80))

    # Then the customer is asked to continue; nothing is imported meanwhile
    waiting = rests("clean")
    assert waiting["status"] == "awaiting_confirmation"
    assert waiting["counts"]["new_contacts"] == 80
    assert flags() == []
    assert events(latest=EventType.CHECK_REQUIRED) == [EventType.CHECK_REQUIRED]

    # When the customer continues
    listguard("imports", "confirm", "clean", "--account", ACCOUNT)

    # Then the outcome is applied: every contact is sendable, and the customer is told
    done = rests("clean", besides="awaiting_confirmation")
    assert (done["status"], done["outcome"]) == ("validated", "validated")
    assert flags() == ["none"] * 80
    assert events(latest=EventType.IMPORT_VALIDATED) == [EventType.IMPORT_VALIDATED, EventType.CHECK_REQUIRED]


def test_a_bought_list_is_declined(cloud: LocalCloud) -> None:
    upload(cloud, "bought", contacts_csv(60, disposable=20))
    rests("bought")
    listguard("imports", "confirm", "bought", "--account", ACCOUNT)

    done = rests("bought", besides="awaiting_confirmation")
    assert (done["status"], done["outcome"]) == ("declined", "declined")
    assert done["reasons"] and "decline" in done["reasons"][0]
    assert flags(flag="declined") == ["declined"] * 80
    assert events(latest=EventType.IMPORT_DECLINED)[0] == EventType.IMPORT_DECLINED


@pytest.mark.parametrize("decision", ["--validate", "--decline"])
def test_a_borderline_list_is_reviewed_by_an_operator(cloud: LocalCloud, decision: str) -> None:
    # Given a borderline list (7.5% disposable: manual review), confirmed by the customer
    upload(cloud, "fair", contacts_csv(74, disposable=6))
    rests("fair")
    listguard("imports", "confirm", "fair", "--account", ACCOUNT)

    # Then it waits in the operators' queue, its contacts pending, the customer asked the questions
    review = rests("fair", besides="awaiting_confirmation")
    assert (review["status"], review["outcome"]) == ("in_review", "manual_review")
    assert [r["import_id"] for r in listguard("reviews", "list")] == ["fair"]
    assert set(flags()) == {"pending"}
    assert events(latest=EventType.IMPORT_IN_REVIEW)[0] == EventType.IMPORT_IN_REVIEW

    # When the customer answers and an operator decides, with a note
    listguard("imports", "answer", "fair", "--account", ACCOUNT, "--source", "sign-up form at our shop")
    listguard(
        "reviews", "decide", "fair", "--account", ACCOUNT, decision, "--note", "checked with the customer"
    )

    # Then the contacts follow the decision, the queue is empty and the customer is told
    expected = "validated" if decision == "--validate" else "declined"
    done = rests("fair", besides="in_review")
    assert done["status"] == expected
    assert done["answers"] == {"source": "sign-up form at our shop"}
    assert set(flags()) == {"none" if expected == "validated" else "declined"}
    assert listguard("reviews", "list") == []
    told = EventType.REVIEW_VALIDATED if expected == "validated" else EventType.REVIEW_DECLINED
    assert events(latest=told)[0] == told


def test_a_cancelled_import_imports_nothing(cloud: LocalCloud) -> None:
    upload(cloud, "big", contacts_csv(90))
    rests("big")

    listguard("imports", "cancel", "big", "--account", ACCOUNT)

    assert rests("big", besides="awaiting_confirmation")["status"] == "cancelled"
    assert flags() == []
    assert events(latest=EventType.IMPORT_CANCELLED)[0] == EventType.IMPORT_CANCELLED
    # ... and its execution ended
    sfn = cloud.client("stepfunctions")
    (execution,) = sfn.list_executions(stateMachineArn=cloud.outputs["ImportStateMachineArn"])["executions"]
    assert execution["status"] == "SUCCEEDED"


def test_an_unanswered_import_is_cancelled_when_the_wait_times_out() -> None:
    # Given a stack whose customers have 2 seconds to answer
    environment = {**ENVIRONMENT, "CONFIRMATION_TIMEOUT_SECONDS": "2"}
    with LocalCloud.start(environment=environment) as cloud, current(cloud):
        upload(cloud, "quiet", contacts_csv(60))
        assert rests("quiet")["status"] == "awaiting_confirmation"

        # When nobody answers, Then the import is cancelled and the customer told why
        done = rests("quiet", besides="awaiting_confirmation", timeout=15)
        assert done["status"] == "cancelled"
        assert done["cancelled_reason"] == "no answer before the deadline"
        assert events(latest=EventType.IMPORT_CANCELLED)[0] == EventType.IMPORT_CANCELLED


def test_a_replayed_s3_event_changes_nothing(cloud: LocalCloud) -> None:
    # Given a list that was confirmed and validated
    body = contacts_csv(70)
    upload(cloud, "weekly", body)
    rests("weekly")
    listguard("imports", "confirm", "weekly", "--account", ACCOUNT)
    before = rests("weekly", besides="awaiting_confirmation")
    events(latest=EventType.IMPORT_VALIDATED)
    notes = listguard("notifications", "list", "--account", ACCOUNT)

    # When the same file is delivered again (same content: a replayed event)
    upload(cloud, "weekly", body)

    # Then nothing ran again: the same import, no new execution, no new notification
    assert listguard("imports", "show", "weekly", "--account", ACCOUNT) == before
    sfn = cloud.client("stepfunctions")
    assert len(sfn.list_executions(stateMachineArn=cloud.outputs["ImportStateMachineArn"])["executions"]) == 1
    assert listguard("notifications", "list", "--account", ACCOUNT) == notes


def test_repeated_declines_put_the_account_under_review_then_suspend_it(cloud: LocalCloud) -> None:
    # Given two declined imports
    for name in ("bought-1", "bought-2"):
        upload(cloud, name, contacts_csv(60, disposable=20, first=len(name) * 1000))
        rests(name)
        listguard("imports", "confirm", name, "--account", ACCOUNT)
        assert rests(name, besides="awaiting_confirmation")["status"] == "declined"

    # Then the account is under review (the customer is told), with an audit trail
    assert events(latest=EventType.STANDING_CHANGED)[0] == EventType.STANDING_CHANGED
    account = listguard("accounts", "show", ACCOUNT)
    assert account["standing"] == AccountStanding.UNDER_REVIEW
    assert account["audit"][0]["standing_after"] == "under_review"

    # When it imports a small clean list, Then the import is held for an operator
    upload(cloud, "small", contacts_csv(10, first=90_000))
    held = rests("small")
    assert held["status"] == "in_review" and "under review" in held["review_reason"]
    events(latest=EventType.IMPORT_IN_REVIEW)

    # When an operator declines it too, Then the account is suspended and new imports are rejected
    listguard("reviews", "decide", "small", "--account", ACCOUNT, "--decline", "--note", "third strike")
    assert rests("small", besides="in_review")["status"] == "declined"
    assert events(latest=EventType.STANDING_CHANGED, count=8)[0] == EventType.STANDING_CHANGED
    assert listguard("accounts", "show", ACCOUNT)["standing"] == AccountStanding.SUSPENDED
    upload(cloud, "more", contacts_csv(5, first=95_000))
    rejected = rests("more")
    assert rejected["status"] == ImportStatus.REJECTED and "suspended" in rejected["error"]

    # When an operator resets the standing with a note, Then imports are accepted again
    listguard("accounts", "reset", ACCOUNT, "--note", "new owner, list cleaned", "--operator", "ops-1")
    account = listguard("accounts", "show", ACCOUNT)
    assert account["standing"] == AccountStanding.GOOD
    assert (account["audit"][0]["who"], account["audit"][0]["why"]) == ("ops-1", "new owner, list cleaned")
    upload(cloud, "after", contacts_csv(5, first=97_000))
    assert rests("after")["status"] == "imported"
    assert FlagStatus.NONE in flags()
