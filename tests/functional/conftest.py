"""Handlers on moto: one mocked account per test, with the table, bucket and topic of the template."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from functional_cloud import BUCKET, TABLE, Cloud
from harness import create_table
from moto import mock_aws

from listguard.aws import aws_clients
from listguard.stores import contacts


def _queue(sqs: object, name: str) -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]  # type: ignore[attr-defined]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[  # type: ignore[attr-defined]
        "Attributes"
    ]["QueueArn"]
    return url, arn


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mock_aws():
        s3, sqs, sns = boto3.client("s3"), boto3.client("sqs"), boto3.client("sns")
        dynamodb = boto3.client("dynamodb")
        create_table(dynamodb, TABLE)
        s3.create_bucket(Bucket=BUCKET)
        events_queue_url, events_queue_arn = _queue(sqs, "s3-events")
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": events_queue_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "imports/"}]}},
                    }
                ]
            },
        )
        topic_arn = sns.create_topic(Name="listguard-flags")["TopicArn"]
        flag_queue_url, flag_queue_arn = _queue(sqs, "flag-events")
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=flag_queue_arn)
        # moto answers in this process, CPU-bound: 8 writer threads only contend for the GIL.
        monkeypatch.setattr(contacts, "WRITE_THREADS", 2)
        # Clients are cached per process: make them again inside this test's mock.
        aws_clients.cache_clear()
        sqs.purge_queue(QueueUrl=events_queue_url)  # s3:TestEvent from the notification setup
        yield Cloud(
            s3=s3,
            dynamodb=dynamodb,
            sqs=sqs,
            events_queue_url=events_queue_url,
            flag_queue_url=flag_queue_url,
            environment={
                "TABLE_NAME": TABLE,
                "FLAG_TOPIC_ARN": topic_arn,
                "POWERTOOLS_METRICS_DISABLED": "true",
            },
        )
        aws_clients.cache_clear()


@pytest.fixture
def small_check_policy(monkeypatch: pytest.MonkeyPatch) -> int:
    """The policy as deployed, with a check from 100 new contacts (instead of 1,000): checked imports of a
    few hundred rows keep the tests fast on moto, whose reads cost about 1 ms per item."""
    monkeypatch.setenv("LISTGUARD_CHECK_MIN_NEW_CONTACTS", "100")
    return 100
