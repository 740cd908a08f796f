"""The import state machine's steps and the customer's and operators' actions, on moto.

Each test runs the steps as the state machine's Task states would (the ASL itself runs on the local
cloud in the e2e tests); the customer and the operators act through ``Lifecycle``'s actions.
"""

from __future__ import annotations

import email
import json
from email.message import Message
from typing import Any

import pytest
from functional_cloud import ACCOUNT, CUSTOMER, SENDER, Cloud, flags, lifecycle_of, run_the_state_machine
from test_import_check import contacts_csv, import_key, only_result

from listguard.domain import AccountStanding, EventType, ImportStatus
from listguard.flows.imports.lifecycle import LifecycleError
from listguard.stores import NotificationStore

pytestmark = pytest.mark.usefixtures("small_check_policy")


@pytest.fixture(autouse=True)
def customer_address(cloud: Cloud) -> None:
    cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")


def checked(cloud: Cloud, import_id: str, *, disposable: int = 0, valid: int = 200) -> None:
    """An upload that needs a check, checked by import_check and handed to the state machine."""
    body = contacts_csv(valid - disposable, disposable=disposable)
    assert only_result(cloud.invoke(cloud.upload(import_key(import_id), body)))["status"] == "verifying"


def notifications(cloud: Cloud) -> list[Any]:
    return list(NotificationStore(cloud.table).list(ACCOUNT))


def parsed_emails(cloud: Cloud) -> list[Message]:
    return [email.message_from_string(sent["raw"]) for sent in cloud.emails()]


def body_of(message: Message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError(f"no text/{subtype} part")


def events_on_sns(cloud: Cloud) -> list[dict[str, Any]]:
    return [
        {"attributes": {k: v["Value"] for k, v in n["MessageAttributes"].items()}, **json.loads(n["Message"])}
        for n in cloud.flag_events()
    ]


# -- continue or cancel -----------------------------------------------------------------------------


def test_a_required_check_tells_the_customer_why_by_email_center_and_sns(cloud: Cloud) -> None:
    # Given a checked import handed to the state machine
    checked(cloud, "leads")

    # When the state machine waits for the customer
    cloud.step("await_confirmation", "leads", token="token-1", timeout_seconds=3600)

    # Then the import waits, holding the token, with a deadline
    record = cloud.import_record("leads")
    assert record.status is ImportStatus.AWAITING_CONFIRMATION
    assert record.confirmation_deadline is not None
    assert cloud.import_store.task_token(ACCOUNT, "leads") == "token-1"
    # And the customer got one email, at their own address only, text and HTML, saying why
    (message,) = parsed_emails(cloud)
    assert (message["From"], message["To"]) == (SENDER, CUSTOMER)
    assert set(cloud.emails()[0]["destinations"]) == {CUSTOMER}
    assert message["Subject"] == 'Your import "leads" needs a verification check'
    text, html = body_of(message, "plain"), body_of(message, "html")
    assert "200 new contacts for a list of 0" in text
    assert "at least 100 new contacts" in text or "from 100 new contacts" in text
    assert "listguard imports confirm leads --account acme" in text
    assert "<code>listguard imports cancel leads --account acme</code>" in html
    assert "@example.com" not in text + html  # no contact's address, ever
    # And a notification-center record, unread, and an SNS message integrations can filter on
    (note,) = notifications(cloud)
    assert (note.event_type, note.read, note.subject) == (EventType.CHECK_REQUIRED, False, message["Subject"])
    assert (note.email_status, note.sns_status) == ("sent", "sent")
    (event,) = events_on_sns(cloud)
    assert event["attributes"] == {"event_type": "check_required", "account_id": ACCOUNT}
    assert (event["import_id"], event["new_contacts"]) == ("leads", 200)


def test_a_replayed_step_notifies_no_one_twice(cloud: Cloud) -> None:
    # Given a customer told that a check is required
    checked(cloud, "leads")
    cloud.step("await_confirmation", "leads", token="token-1", timeout_seconds=3600)
    cloud.flag_events()

    # When the step runs again (a Lambda retry of the same state)
    cloud.step("await_confirmation", "leads", token="token-1", timeout_seconds=3600)

    # Then nothing more was sent
    assert len(cloud.emails()) == 1
    assert len(notifications(cloud)) == 1
    assert cloud.flag_events() == []


def test_continue_applies_the_outcome_and_tells_the_customer(cloud: Cloud) -> None:
    # Given a clean import waiting for the customer
    checked(cloud, "clean")
    cloud.step("await_confirmation", "clean", token="token-1", timeout_seconds=3600)

    # When the customer continues, twice (a double click)
    lifecycle = lifecycle_of(cloud)
    lifecycle.confirm(ACCOUNT, "clean")
    assert lifecycle.confirm(ACCOUNT, "clean").status is ImportStatus.VERIFYING
    cloud.step("apply_chunk", "clean", chunk=0)
    finished = cloud.step("finish", "clean")

    # Then the contacts are sendable and the customer is told
    assert finished == {"status": "validated"}
    assert flags(cloud.contacts()) == {"none"} and len(cloud.contacts()) == 200
    assert [n.event_type for n in notifications(cloud)] == [
        EventType.IMPORT_VALIDATED,
        EventType.CHECK_REQUIRED,
    ]
    assert parsed_emails(cloud)[-1]["Subject"] == 'Your import "clean" is validated'
    # And cancelling now is refused with a clear reason
    with pytest.raises(LifecycleError, match="not waiting for your answer"):
        lifecycle.cancel(ACCOUNT, "clean")


def test_cancel_imports_nothing_and_invites_a_smaller_list(cloud: Cloud) -> None:
    # Given an import waiting for the customer
    checked(cloud, "big")
    cloud.step("await_confirmation", "big", token="token-1", timeout_seconds=3600)

    # When the customer cancels
    record = lifecycle_of(cloud).cancel(ACCOUNT, "big")

    # Then nothing is imported, and the customer is told, with an invitation to import a smaller list
    assert (record.status, record.cancelled_reason) == ("cancelled", "you cancelled it")
    assert cloud.contacts() == {}
    note = notifications(cloud)[0]
    assert note.event_type is EventType.IMPORT_CANCELLED
    assert "under 100 new contacts needs no verification check" in note.text
    with pytest.raises(LifecycleError, match="cancelled"):
        lifecycle_of(cloud).confirm(ACCOUNT, "big")


def test_no_answer_before_the_deadline_cancels_the_import(cloud: Cloud) -> None:
    # Given an import waiting for the customer
    checked(cloud, "quiet")
    cloud.step("await_confirmation", "quiet", token="token-1", timeout_seconds=60)

    # When the wait times out (the state machine's Catch of States.Timeout)
    decision = cloud.step("confirmation_timed_out", "quiet")

    # Then it is cancelled, and the customer is told why
    assert decision == {"decision": "cancel"}
    record = cloud.import_record("quiet")
    assert (record.status, record.cancelled_reason) == ("cancelled", "no answer before the deadline")
    assert notifications(cloud)[0].event_type is EventType.IMPORT_CANCELLED
    assert cloud.contacts() == {}


def test_a_confirmation_that_lands_as_the_wait_times_out_still_continues(cloud: Cloud) -> None:
    # Given an import whose customer continued just as the wait timed out
    checked(cloud, "close")
    cloud.step("await_confirmation", "close", token="token-1", timeout_seconds=60)
    lifecycle_of(cloud).confirm(ACCOUNT, "close")

    # When the timeout step runs
    decision = cloud.step("confirmation_timed_out", "close")

    # Then the customer's answer wins: the import goes on
    assert decision == {"decision": "continue"}
    assert cloud.import_record("close").status is ImportStatus.VERIFYING


# -- outcomes ---------------------------------------------------------------------------------------


def test_a_declined_import_links_the_remediation_steps(cloud: Cloud) -> None:
    # Given a bought list (15% disposable)
    checked(cloud, "bought", disposable=30)

    # When the customer continues
    assert run_the_state_machine(cloud, "bought") == "declined"

    # Then the contacts are declined and the email walks through the remediation
    assert flags(cloud.contacts()) == {"declined"}
    message = parsed_emails(cloud)[-1]
    assert message["Subject"] == 'Your import "bought" was declined'
    text = body_of(message, "plain")
    for step in ("Segment", "Export", "Delete", "Clean", "Reimport"):
        assert step in text
    assert "listguard remediate start --account acme" in text
    assert "predicted bounce rate" in text


def test_manual_review_asks_the_questions_and_an_operator_decides(cloud: Cloud) -> None:
    # Given an import sent to manual review (6% disposable), in the operators' queue
    checked(cloud, "fair", disposable=12)
    assert run_the_state_machine(cloud, "fair") == "in_review"
    assert [r.import_id for r in cloud.import_store.review_queue()] == ["fair"]

    # When the state machine waits for the operator
    cloud.step("await_review", "fair", token="review-token")

    # Then the customer is asked where the list comes from, how consent was collected, when last mailed
    note = notifications(cloud)[0]
    assert note.event_type is EventType.IMPORT_IN_REVIEW
    for question in ("Where does this list come from", "consent", "last send"):
        assert question in note.text
    assert flags(cloud.contacts()) == {"pending"}

    # When the customer answers and the operator validates, with a note
    lifecycle = lifecycle_of(cloud)
    lifecycle.answer(ACCOUNT, "fair", {"source": "our shop's sign-up form", "consent": "double opt-in"})
    record = lifecycle.decide_review(
        ACCOUNT, "fair", validate=True, note="answers check out", operator="ops-1"
    )
    assert (record.review_decision, record.reviewed_by, record.answers["source"]) == (
        "validate",
        "ops-1",
        "our shop's sign-up form",
    )
    finished = cloud.step(
        "apply_review", "fair", review={"decision": "validate", "note": "answers check out"}
    )

    # Then the contacts are sendable, the import is validated and out of the queue, the customer told
    assert finished == {"status": "validated"}
    assert flags(cloud.contacts()) == {"none"}
    assert list(cloud.import_store.review_queue()) == []
    assert notifications(cloud)[0].event_type is EventType.REVIEW_VALIDATED
    assert "answers check out" in notifications(cloud)[0].text
    # And a second decision is refused
    with pytest.raises(LifecycleError, match="not in review"):
        lifecycle.decide_review(ACCOUNT, "fair", validate=False, note="changed my mind", operator="ops-2")


def test_an_operator_declines_an_import_in_review(cloud: Cloud) -> None:
    checked(cloud, "fair", disposable=12)
    run_the_state_machine(cloud, "fair")
    cloud.step("await_review", "fair", token="review-token")
    lifecycle_of(cloud).decide_review(ACCOUNT, "fair", validate=False, note="bought list", operator="ops-1")

    assert cloud.step("apply_review", "fair", review={"decision": "decline", "note": "bought list"}) == {
        "status": "declined"
    }
    assert flags(cloud.contacts()) == {"declined"}
    assert notifications(cloud)[0].event_type is EventType.REVIEW_DECLINED
    assert cloud.account_store.get(ACCOUNT).declines.keys() == {"fair"}


def test_a_step_of_a_superseded_file_stops(cloud: Cloud) -> None:
    # Given an import waiting for the customer, and a new file uploaded to the same key
    checked(cloud, "weekly")
    old_etag = cloud.import_record("weekly").etag
    only_result(cloud.invoke(cloud.upload(import_key("weekly"), contacts_csv(5))))

    # When the old execution's step runs
    event = {
        "step": "apply_chunk",
        "chunk": 0,
        "import": {"account": ACCOUNT, "import_id": "weekly", "etag": old_etag},
    }
    with pytest.raises(Exception, match="weekly") as raised:
        cloud.invoke(event, function="import_steps")

    # Then it raises the error the state machine catches, and writes nothing
    assert type(raised.value).__name__ == "ImportSupersededError"
    assert len(cloud.contacts()) == 5


# -- account standing -------------------------------------------------------------------------------


def test_two_declines_put_the_account_under_review_and_three_suspend_it(cloud: Cloud) -> None:
    # Given two declined imports within 90 days
    for name in ("bought-1", "bought-2"):
        checked(cloud, name, disposable=30)
        run_the_state_machine(cloud, name)

    # Then the account is under review, with an audit entry and a notification
    profile = cloud.account_store.get(ACCOUNT)
    assert profile.standing is AccountStanding.UNDER_REVIEW
    (entry,) = cloud.account_store.audit_trail(ACCOUNT)
    assert (entry.who, entry.standing_before, entry.standing_after) == ("listguard", "good", "under_review")
    assert "bought-2 was declined" in entry.why
    assert notifications(cloud)[0].event_type is EventType.STANDING_CHANGED

    # When a clean import arrives, Then it is held for an operator (its contacts pending)
    only_result(cloud.invoke(cloud.upload(import_key("small"), contacts_csv(20, first=500))))
    record = cloud.import_record("small")
    assert (record.status, record.decided_status) == ("verifying", "in_review")
    assert record.review_reason and "under review" in record.review_reason
    assert run_the_state_machine(cloud, "small") == "in_review"

    # When a third import is declined (by an operator), Then the account is suspended
    cloud.step("await_review", "small", token="t")
    lifecycle_of(cloud).decide_review(ACCOUNT, "small", validate=False, note="bought again", operator="ops-1")
    cloud.step("apply_review", "small", review={"decision": "decline", "note": "bought again"})
    assert cloud.account_store.get(ACCOUNT).standing is AccountStanding.SUSPENDED

    # ... and its next import is rejected with the reason
    result = only_result(cloud.invoke(cloud.upload(import_key("more"), contacts_csv(5, first=900))))
    assert result["status"] == "rejected"
    assert "suspended" in result["error"]


def test_an_operator_resets_the_standing_with_a_note(cloud: Cloud) -> None:
    # Given a suspended account
    from datetime import UTC, datetime, timedelta

    from listguard.domain.standing import StandingPolicy

    policy, now = StandingPolicy(), datetime.now(UTC)
    for i in range(3):
        cloud.account_store.record_decline(
            ACCOUNT, f"old-{i}", declined_at=now.isoformat(), now=now, policy=policy
        )
    assert cloud.account_store.get(ACCOUNT).standing is AccountStanding.SUSPENDED

    # When an operator resets it
    later = now + timedelta(minutes=5)
    change = cloud.account_store.reset_standing(
        ACCOUNT, note="new owner, list cleaned", operator="ops-7", now=later, policy=policy
    )

    # Then it is good again, and the audit trail says who, when and why
    assert (change.before, change.after) == (AccountStanding.SUSPENDED, AccountStanding.GOOD)
    assert cloud.account_store.get(ACCOUNT).standing is AccountStanding.GOOD
    latest = next(cloud.account_store.audit_trail(ACCOUNT))
    assert (latest.who, latest.why, latest.standing_after) == ("ops-7", "new owner, list cleaned", "good")
    assert len(list(cloud.account_store.audit_trail(ACCOUNT))) == 3  # under review, suspended, reset
