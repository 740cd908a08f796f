"""The local cloud's patch of moto's DynamoDB transactions (localcloud/motocompat.py): a failed
transaction still changes nothing, its reasons are moto's own, and its cost no longer copies the table."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from functional_cloud import TABLE, Cloud

from listguard.stores.dynamo import serialize
from listguard_console.localcloud import motocompat


def put(cloud: Cloud, pk: str, **attributes: Any) -> None:
    cloud.dynamodb.put_item(TableName=TABLE, Item=serialize({"pk": pk, "sk": "x", **attributes}))


def test_the_patch_is_installed_for_the_tests_and_the_local_cloud() -> None:
    assert motocompat.dynamodb_transactions_are_sped_up()


def test_a_cancelled_transaction_changes_nothing_and_says_why(cloud: Cloud) -> None:
    # Given two items
    put(cloud, "a", n=1)
    put(cloud, "b", n=1)
    before = cloud.items()

    # When a transaction updates a, puts a new c, and then fails its condition on b
    with pytest.raises(ClientError) as raised:
        cloud.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": serialize({"pk": "a", "sk": "x"}),
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": serialize({":two": 2}),
                    }
                },
                {"Put": {"TableName": TABLE, "Item": serialize({"pk": "c", "sk": "x"})}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": serialize({"pk": "b", "sk": "x"}),
                        "ConditionExpression": "n = :two",
                        "ExpressionAttributeValues": serialize({":two": 2}),
                    }
                },
            ]
        )

    # Then the table is as it was, and the reasons name the item that failed
    assert cloud.items() == before
    reasons = [reason["Code"] for reason in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]


def test_a_transaction_costs_the_same_on_a_big_table(cloud: Cloud) -> None:
    def cost() -> float:
        started = time.perf_counter()
        for n in range(20):
            cloud.dynamodb.transact_write_items(
                TransactItems=[{"Put": {"TableName": TABLE, "Item": serialize({"pk": f"t{n}", "sk": "x"})}}]
            )
        return time.perf_counter() - started

    small = cost()
    for n in range(1_000):
        put(cloud, f"filler{n}", payload="x" * 50)
    big = cost()

    # moto copied the whole table for each transaction: 1,000 items made each one ~50 times slower
    assert big < 5 * small + 0.5
