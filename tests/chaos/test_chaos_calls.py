"""The call log on the layer's own clients (plain moto): every call recorded in order, one made to fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from harness import create_table
from moto import mock_aws

from listguard.aws import AwsClients
from listguard_console.chaos.calls import CallLog, Fault, FaultKind, Outage

TABLE = "chaos-calls"
KEY = {"pk": {"S": "ACCOUNT#acme"}, "sk": {"S": "COUNTER"}}


@pytest.fixture
def clients() -> Iterator[AwsClients]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        yield AwsClients()


def count(clients: AwsClients) -> None:
    """Adds 1 to a counter (a write whose every repetition shows)."""
    clients.dynamodb.update_item(
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def counted(clients: AwsClients) -> int:
    item: dict[str, Any] = clients.dynamodb.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True).get(
        "Item", {}
    )
    return int(item.get("n", {}).get("N", 0))


def test_every_call_of_the_layers_clients_is_recorded_in_order(clients: AwsClients) -> None:
    log = CallLog(current_function=lambda: "ImportStepsFunction", current_step=lambda: "finish")
    log.attach(clients, "us-east-1")

    count(clients)
    counted(clients)

    assert [str(call) for call in log] == [
        "#1 ImportStepsFunction[finish] dynamodb.UpdateItem",
        "#2 ImportStepsFunction[finish] dynamodb.GetItem",
    ]


def test_a_lost_request_is_throttled_and_does_nothing(clients: AwsClients) -> None:
    log = CallLog(fault=Fault(1, FaultKind.LOST_REQUEST))
    log.attach(clients, "us-east-1")

    with pytest.raises(ClientError) as raised:
        count(clients)

    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert counted(clients) == 0
    assert log.fired and log.faulted_call is not None and log.faulted_call.number == 1


def test_a_lost_response_takes_effect_and_the_caller_sees_a_read_timeout(clients: AwsClients) -> None:
    log = CallLog(fault=Fault(1, FaultKind.LOST_RESPONSE))
    log.attach(clients, "us-east-1")

    with pytest.raises(ReadTimeoutError):
        count(clients)

    assert counted(clients) == 1


def test_a_resent_request_takes_effect_twice_and_the_caller_sees_the_second_answer(
    clients: AwsClients,
) -> None:
    # Given the first answer is lost: botocore's standard retry mode sends the same request again
    log = CallLog(fault=Fault(1, FaultKind.RESENT_REQUEST))
    log.attach(clients, "us-east-1")

    count(clients)  # no error reaches the caller

    assert counted(clients) == 2
    assert len(log) == 2  # the counter's call (once, however often botocore sent it) and the read


def test_only_the_armed_call_fails(clients: AwsClients) -> None:
    log = CallLog(fault=Fault(2, FaultKind.LOST_REQUEST))
    log.attach(clients, "us-east-1")

    count(clients)
    with pytest.raises(ClientError):
        count(clients)
    count(clients)

    assert counted(clients) == 2


def test_an_outage_fails_every_matching_call_while_it_lasts(clients: AwsClients) -> None:
    log = CallLog(current_function=lambda: "listguard-ImportCheckFunction-1A2B")
    log.attach(clients, "us-east-1")

    with log.outage(Outage("ImportCheckFunction", "dynamodb.UpdateItem")):
        for _ in range(2):
            with pytest.raises(ClientError):
                count(clients)
    count(clients)

    assert counted(clients) == 1
    assert [call.in_outage for call in log] == [True, True, False, False]
