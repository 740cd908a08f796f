"""Handlers on moto: one mocked account per test, with the table, bucket and topic of the template."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from functional_cloud import BUCKET, TABLE, Cloud, create_table, load_handler
from moto import mock_aws

from listguard import contacts
from listguard.aws import aws_clients


@pytest.fixture(scope="session")
def import_check_app() -> ModuleType:
    return load_handler("import_check")


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, import_check_app: ModuleType) -> Iterator[Cloud]:
    with mock_aws():
        s3 = boto3.client("s3")
        sqs = boto3.client("sqs")
        sns = boto3.client("sns")
        dynamodb = boto3.resource("dynamodb")
        create_table(dynamodb)
        s3.create_bucket(Bucket=BUCKET)
        events_queue_url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
        events_queue_arn = sqs.get_queue_attributes(QueueUrl=events_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
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
        flag_queue_url = sqs.create_queue(QueueName="flag-events")["QueueUrl"]
        flag_queue_arn = sqs.get_queue_attributes(QueueUrl=flag_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=flag_queue_arn)

        monkeypatch.setenv("TABLE_NAME", TABLE)
        # moto answers BatchWriteItem in this process, CPU-bound: 8 writer threads only contend for the
        # GIL (the suite took twice as long). Two still write concurrently; test_batch_put_* use 8.
        monkeypatch.setattr(contacts, "WRITE_THREADS", 2)
        monkeypatch.setenv("FLAG_TOPIC_ARN", topic_arn)
        # Clients are cached per process: make them again inside this test's mock.
        aws_clients.cache_clear()
        sqs.purge_queue(QueueUrl=events_queue_url)  # s3:TestEvent from the notification setup
        yield Cloud(
            s3=s3,
            dynamodb=dynamodb,
            sqs=sqs,
            events_queue_url=events_queue_url,
            flag_queue_url=flag_queue_url,
            handler=import_check_app.lambda_handler,
        )
        aws_clients.cache_clear()


@pytest.fixture
def small_check_policy(monkeypatch: pytest.MonkeyPatch) -> int:
    """The policy as deployed, with a check from 100 new contacts (instead of 1,000): checked imports of a
    few hundred rows keep the tests fast on moto, whose reads cost about 1 ms per item."""
    monkeypatch.setenv("LISTGUARD_CHECK_MIN_NEW_CONTACTS", "100")
    return 100
