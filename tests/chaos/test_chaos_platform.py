"""What the harness adds to the local cloud: SQS redelivery, a redelivered S3 event, and knowing when a
run rests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from listguard_console.chaos.platform import MAX_REDELIVERIES, Platform
from listguard_console.localcloud import LocalCloud

pytestmark = pytest.mark.e2e


@pytest.fixture
def platform() -> Iterator[Platform]:
    with LocalCloud.start(environment={"POWERTOOLS_LOG_LEVEL": "CRITICAL"}) as cloud:
        platform = Platform(cloud)
        platform.install()
        try:
            yield platform
        finally:
            Platform.uninstall()


def test_a_message_whose_batch_failed_is_delivered_again_until_it_expires(platform: Platform) -> None:
    # Given a message import_failed cannot read (its batch fails on every delivery)
    sqs = platform.cloud.client("sqs")
    queue_url = platform.cloud.outputs["ImportFailuresQueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="not a destination record")
    assert platform.started == 1

    # When the platform's recoveries act
    platform.recover()

    # Then SQS delivered it again, a few times here (AWS goes on until the queue's retention ends), besides
    # the next run of the scheduled requeue job
    assert platform.scheduled_runs == 1
    assert platform.started == 1 + MAX_REDELIVERIES + platform.scheduled_runs
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_every_s3_event_of_a_run_is_delivered_once_more(platform: Platform) -> None:
    # Given an object uploaded outside the import layout (import_check skips it)
    bucket = platform.cloud.outputs["ImportsBucketName"]
    platform.cloud.client("s3").put_object(Bucket=bucket, Key="imports/readme.txt", Body=b"hello")
    platform.settle()
    assert platform.started == 1

    # When the S3 events are replayed
    assert platform.replay_s3_events() == 1

    # Then import_check ran once more (besides the scheduled requeue job), and the replay is not itself
    # replayed later
    assert platform.started == 2 + platform.scheduled_runs
    assert len(platform.s3_events) == 1
