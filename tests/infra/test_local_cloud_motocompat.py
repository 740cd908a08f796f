"""The local cloud's use of moto internals: one module, for one moto version; Lambda's destination record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import moto
import pytest

from listguard_console.localcloud import LocalCloudError, motocompat
from listguard_console.localcloud.invocations import destination_record
from listguard_console.localcloud.motocompat import InvocationOutcome, LambdaFunctionView


def test_the_pinned_moto_is_the_version_the_local_cloud_was_written_for() -> None:
    assert moto.__version__ == motocompat.SUPPORTED_MOTO_VERSION
    motocompat.check_moto_version()  # does not raise


def test_another_moto_version_stops_the_local_cloud_with_a_clear_message() -> None:
    with pytest.raises(LocalCloudError) as raised:
        motocompat.check_moto_version("5.3.0")

    assert str(raised.value) == (
        "the local cloud patches internals of moto 5.2.5, but moto 5.3.0 is installed: install the pinned "
        "version (make venv), or port localcloud/motocompat.py to it"
    )


FUNCTION = LambdaFunctionView(
    name="listguard-ImportCheckFunction-1",
    arn="arn:aws:lambda:us-east-1:123456789012:function:listguard-ImportCheckFunction-1",
    region="us-east-1",
    memory_size=2048,
    timeout=900.0,
    version="$LATEST",
    environment={},
)


def test_the_record_of_an_invocation_whose_retries_are_exhausted_has_lambdas_shape() -> None:
    # Given the third failed attempt of an S3 event
    error = {"errorMessage": "throttled", "errorType": "RuntimeError", "requestId": "r-1", "stackTrace": []}
    outcome = InvocationOutcome(json.dumps(error), errored=True)
    event = {"Records": [{"eventSource": "aws:s3"}]}

    # When Lambda builds the destination record
    record = destination_record(
        FUNCTION,
        "r-1",
        event,
        outcome,
        invoke_count=3,
        now=datetime(2026, 3, 1, 12, 0, 5, 568_123, tzinfo=UTC),
    )

    # Then it is AWS's record, field for field
    assert record == {
        "version": "1.0",
        "timestamp": "2026-03-01T12:00:05.568Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": f"{FUNCTION.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    }


def test_the_record_of_a_successful_invocation_carries_its_result() -> None:
    outcome = InvocationOutcome(json.dumps({"results": []}), errored=False)

    record = destination_record(FUNCTION, "r-2", {}, outcome, invoke_count=1)

    assert record["requestContext"]["condition"] == "Success"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"results": []}
