"""A check that failed for good tells the customer, once (found by the chaos sweep: it told nobody)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from functional_cloud import ACCOUNT, CUSTOMER, Cloud
from test_import_check import contacts_csv, import_key
from test_import_hardening import destination_record, sqs_event

from listguard.aws import aws_clients
from listguard.domain import EventType, ImportStatus
from listguard.stores import NotificationStore


def failed_for_good(cloud: Cloud, import_id: str) -> dict[str, Any]:
    """An upload whose check was claimed, then failed every attempt: its destination record."""
    event = cloud.upload(import_key(import_id), contacts_csv(3))
    cloud.import_store.claim(
        ACCOUNT, import_id, etag=event["Records"][0]["s3"]["object"]["eTag"], claimant="request-1",
        source_key=import_key(import_id), lease_seconds=900,
    )  # fmt: skip
    return destination_record(event)


def told(cloud: Cloud) -> list[str]:
    return [str(n.event_type) for n in NotificationStore(cloud.table).list(ACCOUNT)]


def test_a_failed_check_tells_the_customer_why_and_what_to_do(cloud: Cloud) -> None:
    # Given an account with an address, and a check that failed every attempt
    cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
    record = failed_for_good(cloud, "unlucky")

    # When import_failed reads the failure
    cloud.invoke(sqs_event(record), function="import_failed")

    # Then the import is failed and the customer is told, by email and on SNS, what to do
    assert cloud.import_record("unlucky").status is ImportStatus.FAILED
    assert told(cloud) == [EventType.IMPORT_FAILED]
    (email,) = cloud.emails()
    assert "upload the same file again" in str(email["raw"]).replace("=\n", "")
    assert [event["MessageAttributes"]["event_type"]["Value"] for event in cloud.flag_events()] == [
        "import_failed"
    ]

    # When the same failure record is delivered again, Then nobody is told twice
    cloud.invoke(sqs_event(record), function="import_failed")
    assert told(cloud) == [EventType.IMPORT_FAILED]
    assert len(cloud.emails()) == 1


def test_telling_that_failed_is_done_when_the_record_comes_again(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the import is marked failed, but SES refuses the email once
    cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
    record = failed_for_good(cloud, "unlucky")
    ses = aws_clients().sesv2
    send = ses.send_email
    refusals: list[dict[str, Any]] = []

    def refuse_once(**kwargs: Any) -> Any:
        if not refusals:
            refusals.append(kwargs)
            raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail")
        return send(**kwargs)

    monkeypatch.setattr(ses, "send_email", refuse_once)

    # When import_failed reads it (the batch fails: SQS delivers the record again)
    with pytest.raises(BatchProcessingError):
        cloud.invoke(sqs_event(record), function="import_failed")
    cloud.invoke(sqs_event(record), function="import_failed")

    # Then the customer got the email once, on the second delivery
    assert len(cloud.emails()) == 1
    assert cloud.import_record("unlucky").status is ImportStatus.FAILED
