"""The local cloud's Lambda service does what Lambda does for asynchronous invocations, which moto does not.

An asynchronous invocation (S3 notification, SNS, InvocationType=Event) that errors is tried again up to the
function's MaximumRetryAttempts, with the same request id; then Lambda's destination record goes to the
function's on-failure destination. A synchronous invocation is tried once and its caller sees the error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listguard_console.localcloud import ROUTES, HandlerRoute, LocalCloud

pytestmark = pytest.mark.e2e

# Records every attempt (its request id and event), then fails the first `FAILURES` attempts.
FLAKY_HANDLER = """
import json
from pathlib import Path

FAILURES = {failures}


def lambda_handler(event, context):
    attempts = Path(__file__).with_name("attempts.jsonl")
    with attempts.open("a") as log:
        log.write(json.dumps({{"request_id": context.aws_request_id, "event": event}}) + "\\n")
    if len(attempts.read_text().splitlines()) <= FAILURES:
        raise RuntimeError("DynamoDB is throttling")
    return {{"checked": True}}
"""
ALWAYS = 1_000


class Function:
    """The stack's ImportCheckFunction, routed to a handler that fails its first attempts."""

    def __init__(self, cloud: LocalCloud, code_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cloud = cloud
        self.name = cloud.outputs["ImportCheckFunctionName"]
        self.code_dir = code_dir
        self.monkeypatch = monkeypatch

    def fails(self, times: int) -> None:
        (self.code_dir / "app.py").write_text(FLAKY_HANDLER.format(failures=times))
        self.monkeypatch.setitem(ROUTES, self.name, HandlerRoute(self.code_dir, "app.lambda_handler"))

    def attempts(self) -> list[dict[str, Any]]:
        log = self.code_dir / "attempts.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def function(local_cloud: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Function:
    return Function(local_cloud, tmp_path, monkeypatch)


def failure_records(cloud: LocalCloud) -> list[dict[str, Any]]:
    """What landed in the stack's ImportFailuresQueue (drained)."""
    sqs, queue_url = cloud.client("sqs"), cloud.outputs["ImportFailuresQueueUrl"]
    records = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            records.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return records


def upload(cloud: LocalCloud, key: str = "imports/acme/leads.csv") -> None:
    cloud.client("s3").put_object(Bucket=cloud.outputs["ImportsBucketName"], Key=key, Body=b"email\na@b.co\n")


def test_the_template_configures_two_retries_and_the_failures_queue(local_cloud: LocalCloud) -> None:
    # moto's CloudFormation skips AWS::Lambda::EventInvokeConfig: the local cloud puts it through the API
    config = local_cloud.client("lambda").get_function_event_invoke_config(
        FunctionName=local_cloud.outputs["ImportCheckFunctionName"]
    )

    assert config["MaximumRetryAttempts"] == 2
    assert (
        config["DestinationConfig"]["OnFailure"]["Destination"]
        == local_cloud.outputs["ImportFailuresQueueArn"]
    )


def test_an_upload_whose_check_always_fails_is_tried_three_times_then_lands_in_the_failures_queue(
    function: Function,
) -> None:
    # Given a check that fails every time (sustained throttling)
    function.fails(times=ALWAYS)

    # When a file is uploaded under imports/
    upload(function.cloud)

    # Then Lambda tried it three times, every attempt with the same request id and event
    attempts = function.attempts()
    assert len(attempts) == 3
    [request_id] = {attempt["request_id"] for attempt in attempts}
    [s3_event] = [attempts[0]["event"]]
    assert all(attempt["event"] == s3_event for attempt in attempts)
    assert s3_event["Records"][0]["eventSource"] == "aws:s3"
    # and one destination record, in AWS's shape, is in the failures queue
    [record] = failure_records(function.cloud)
    function_arn = function.cloud.client("lambda").get_function(FunctionName=function.name)["Configuration"][
        "FunctionArn"
    ]
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{function_arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == s3_event
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "DynamoDB is throttling"
    assert record["responsePayload"]["requestId"] == request_id
    assert record["responsePayload"]["stackTrace"]


def test_an_upload_whose_check_fails_once_succeeds_on_the_retry_and_nothing_is_queued(
    function: Function,
) -> None:
    function.fails(times=1)

    upload(function.cloud)

    attempts = function.attempts()
    assert len(attempts) == 2
    assert attempts[0]["request_id"] == attempts[1]["request_id"]
    assert failure_records(function.cloud) == []


def test_an_event_invocation_through_the_api_is_accepted_then_retried(function: Function) -> None:
    function.fails(times=ALWAYS)

    response = function.cloud.client("lambda").invoke(
        FunctionName=function.name, InvocationType="Event", Payload=b'{"import": "x"}'
    )

    # The caller only learns that Lambda accepted the event
    assert response["StatusCode"] == 202
    assert "FunctionError" not in response
    assert response["Payload"].read() == b""
    assert len(function.attempts()) == 3
    [record] = failure_records(function.cloud)
    assert record["requestPayload"] == {"import": "x"}
    assert record["requestContext"]["approximateInvokeCount"] == 3


def test_an_sns_message_to_a_subscribed_function_is_retried_as_an_asynchronous_invocation(
    function: Function,
) -> None:
    # Given the function subscribed to the flag topic
    function.fails(times=ALWAYS)
    sns, topic_arn = function.cloud.client("sns"), function.cloud.outputs["FlagTopicArn"]
    function_arn = function.cloud.client("lambda").get_function(FunctionName=function.name)["Configuration"][
        "FunctionArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)

    # When a message is published
    sns.publish(TopicArn=topic_arn, Message="flagged")

    # Then SNS's event was tried three times and ends in the failures queue
    assert len(function.attempts()) == 3
    [record] = failure_records(function.cloud)
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "flagged"


def test_a_synchronous_invocation_is_tried_once_and_its_caller_sees_the_error(function: Function) -> None:
    function.fails(times=ALWAYS)

    response = function.cloud.client("lambda").invoke(FunctionName=function.name, Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert len(function.attempts()) == 1
    assert failure_records(function.cloud) == []


def test_the_retries_and_destinations_follow_the_functions_event_invoke_configuration(
    function: Function,
) -> None:
    # Given no retry, and success records sent to the queue as well
    queue_arn = function.cloud.outputs["ImportFailuresQueueArn"]
    function.cloud.client("lambda").put_function_event_invoke_config(
        FunctionName=function.name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}, "OnSuccess": {"Destination": queue_arn}},
    )
    function.fails(times=1)

    # When two uploads arrive: the first fails, the second succeeds
    upload(function.cloud, "imports/acme/first.csv")
    upload(function.cloud, "imports/acme/second.csv")

    # Then each was tried once, and each left its record
    assert len(function.attempts()) == 2
    failed, succeeded = failure_records(function.cloud)
    assert failed["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["requestContext"]["approximateInvokeCount"] == 1
    assert succeeded["requestContext"]["condition"] == "Success"
    assert succeeded["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert succeeded["responsePayload"] == {"checked": True}


# Whether moto invokes a function from an SQS event source mapping (for the consumer of the failures queue).
CONSUMER_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
  ConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/consumer/
      Handler: app.lambda_handler
      Runtime: python3.12
      Events:
        Failures:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 10
Outputs:
  QueueUrl:
    Value: !Ref Queue
"""
CONSUMER = """
import json
from pathlib import Path


def lambda_handler(event, context):
    with Path(__file__).with_name("received.jsonl").open("a") as log:
        for record in event["Records"]:
            log.write(json.dumps({"body": record["body"], "source": record["eventSource"]}) + "\\n")
"""


@pytest.fixture
def consumer_root(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "template.yaml").write_text(CONSUMER_TEMPLATE)
    (tmp_path / "functions" / "consumer").mkdir(parents=True)
    (tmp_path / "functions" / "consumer" / "app.py").write_text(CONSUMER)
    yield tmp_path


def test_a_message_sent_to_a_queue_with_an_sqs_event_source_invokes_the_function_at_once(
    consumer_root: Path,
) -> None:
    with LocalCloud.start(root=consumer_root) as cloud:
        sqs, queue_url = cloud.client("sqs"), cloud.outputs["QueueUrl"]

        sqs.send_message(QueueUrl=queue_url, MessageBody='{"requestContext": {}}')

        # moto polls on send: the function has run before send_message returns, and the message is deleted
        received = (consumer_root / "functions" / "consumer" / "received.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in received] == [
            {"body": '{"requestContext": {}}', "source": "aws:sqs"}
        ]
        assert sqs.receive_message(QueueUrl=queue_url).get("Messages") is None
