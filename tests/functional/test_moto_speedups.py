"""The local cloud's patch of moto's DynamoDB items keeps moto's behaviour (tests/conftest.py installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from listguard_console.localcloud import motocompat


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(
            TableName="items",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def test_the_patch_is_in_place() -> None:
    assert motocompat.dynamodb_items_are_sped_up()


def test_an_item_over_the_size_limit_is_refused(table: Any) -> None:
    # Given an item of twenty attributes that add up to more than 400 KB
    item = {"pk": "big"} | {f"attribute{i}": "x" * 21_000 for i in range(20)}
    # When it is put / Then DynamoDB's own error comes back, as from moto unpatched
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        table.put_item(Item=item)


def test_an_item_just_under_the_limit_is_stored_whole(table: Any) -> None:
    # Given an item of twenty attributes just under the limit
    item = {"pk": "fits"} | {f"attribute{i}": "x" * 20_000 for i in range(20)}
    # When it is put and read back / Then every attribute is there
    table.put_item(Item=item)
    assert table.get_item(Key={"pk": "fits"})["Item"] == item


def test_updates_still_check_the_limit_and_forget_removed_attributes(table: Any) -> None:
    # Given a stored item near the limit
    table.put_item(Item={"pk": "p"} | {f"a{i}": "x" * 20_000 for i in range(19)})
    # When a big attribute is removed and another of the same size set, the item still fits
    table.update_item(Key={"pk": "p"}, UpdateExpression="REMOVE a0")
    table.update_item(
        Key={"pk": "p"}, UpdateExpression="SET b0 = :v", ExpressionAttributeValues={":v": "y" * 20_000}
    )
    # But growing it past the limit is refused
    with pytest.raises(ClientError, match="Item size"):
        table.update_item(
            Key={"pk": "p"}, UpdateExpression="SET c0 = :v", ExpressionAttributeValues={":v": "z" * 30_000}
        )


def test_dynamodb_requests_are_answered_one_at_a_time_as_dynamodb_does() -> None:
    # Given moto's DynamoDB patched by the local cloud, and four threads racing for one conditional write
    import threading

    import boto3
    from moto import mock_aws

    assert motocompat.dynamodb_is_atomic_and_fast()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for trial in range(100):
            wins: list[str] = []

            def claim(name: str, trial: int = trial, wins: list[str] = wins) -> None:
                try:
                    client.put_item(
                        TableName="t",
                        Item={"pk": {"S": f"lock-{trial}"}, "holder": {"S": name}},
                        ConditionExpression="attribute_not_exists(pk)",
                    )
                    wins.append(name)
                except client.exceptions.ConditionalCheckFailedException:
                    pass

            threads = [threading.Thread(target=claim, args=(f"t{i}",)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # Then exactly one of them wins, every time
            assert len(wins) == 1, (trial, wins)
