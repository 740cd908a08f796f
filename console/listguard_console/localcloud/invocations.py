"""What the Lambda service does around a handler, which moto does not: retries and destinations.

A synchronous invocation (``RequestResponse``: the Invoke API, Step Functions tasks, SQS and stream
pollers) is one attempt; its caller sees the error. An asynchronous one (``Event``: S3 notifications,
SNS, EventBridge, ``InvocationType=Event``) is tried again after an error, up to the function's
MaximumRetryAttempts (2 unless its event invoke configuration says otherwise), every attempt with the
same request id, as Lambda does. Then the destination record goes to the configured OnFailure (or
OnSuccess) destination: an SQS queue, an SNS topic or another function.

Locally the retries follow at once (Lambda waits about one, then two minutes), and the event's maximum
age is not enforced.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from . import motocompat, routing
from .motocompat import InvocationOutcome, InvocationType, LambdaFunctionView

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
EXECUTED_VERSION = "$LATEST"

logger = logging.getLogger(__name__)


def install() -> None:
    """Routes every Lambda invocation of moto through ``handle``. Idempotent."""
    motocompat.route_lambda_invocations(handle)


def handle(function: LambdaFunctionView, event: Any, invocation_type: InvocationType) -> InvocationOutcome:
    request_id = str(uuid.uuid4())
    if invocation_type == "DryRun":  # Lambda only checks the caller may invoke
        return InvocationOutcome("", False)
    if invocation_type == "RequestResponse":
        return routing.run(function, event, request_id)
    config = function.event_invoke_config
    attempts = 1 + int(config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
    invoke_count = 0
    while True:
        invoke_count += 1
        outcome = routing.run(function, event, request_id)
        if not outcome.errored or invoke_count == attempts:
            break
    destinations = config.get("DestinationConfig") or {}
    destination = (destinations.get("OnFailure" if outcome.errored else "OnSuccess") or {}).get("Destination")
    if destination:
        record = destination_record(function, request_id, event, outcome, invoke_count)
        deliver(destination, record, function)
    return outcome


def destination_record(
    function: LambdaFunctionView,
    request_id: str,
    event: Any,
    outcome: InvocationOutcome,
    invoke_count: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The invocation record Lambda sends to a destination, in AWS's shape."""
    timestamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": EXECUTED_VERSION}
    if outcome.errored:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function.arn}:{EXECUTED_VERSION}",
            "condition": "RetriesExhausted" if outcome.errored else "Success",
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
        "responseContext": response_context,
        "responsePayload": json.loads(outcome.payload) if outcome.payload else None,
    }


def deliver(destination_arn: str, record: dict[str, Any], function: LambdaFunctionView) -> None:
    """Sends ``record`` to the destination through the local cloud's APIs.

    As on AWS, a delivery that fails does not fail the invocation: it is logged.
    """
    import boto3

    body = json.dumps(record)
    try:
        service, region, account, resource = _arn_parts(destination_arn)
        if service == "sqs":
            sqs = boto3.client("sqs", region_name=region)
            queue_url = sqs.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        elif service == "sns":
            boto3.client("sns", region_name=region).publish(TopicArn=destination_arn, Message=body)
        elif service == "lambda":
            boto3.client("lambda", region_name=region).invoke(
                FunctionName=destination_arn, InvocationType="Event", Payload=body.encode()
            )
        else:
            logger.warning(
                "%s: destination %s is not delivered by the local cloud", function.name, destination_arn
            )
    except Exception:
        logger.exception("%s: the destination record could not be sent to %s", function.name, destination_arn)


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of ``arn:partition:service:region:account:resource``."""
    _, _, service, region, account, resource = arn.split(":", 5)
    if service == "lambda":
        resource = resource.removeprefix("function:")
    return service, region, account, resource
