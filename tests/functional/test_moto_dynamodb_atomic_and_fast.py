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
    assert motocompat.dynamodb_is_atomic_and_fast()


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


def test_a_query_reads_its_partition_page_by_page_in_key_order(cloud: Cloud) -> None:
    from listguard.stores.paging import query_page

    # Given two partitions, written out of order, and items of others around them
    for n in (5, 1, 4, 2, 3):
        cloud.dynamodb.put_item(TableName=TABLE, Item=serialize({"pk": "p", "sk": f"k{n}"}))
        cloud.dynamodb.put_item(TableName=TABLE, Item=serialize({"pk": "q", "sk": f"k{n}"}))
    put(cloud, "a")
    put(cloud, "z")

    # When one partition is read two items at a time
    pages, after = [], None
    while True:
        page = query_page(cloud.table, pk="p", sk_prefix="k", after_sk=after, limit=2)
        pages.append([item["sk"] for item in page.items])
        if page.last_sk is None:
            break
        after = page.last_sk

    # Then every item of it comes once, in key order, and nothing else
    assert pages == [["k1", "k2"], ["k3", "k4"], ["k5"]]


def test_an_index_query_sorts_across_partitions(cloud: Cloud) -> None:
    for pk, sort in (("b", "2"), ("a", "3"), ("c", "1")):
        cloud.dynamodb.put_item(
            TableName=TABLE, Item=serialize({"pk": pk, "sk": "x", "gsi1pk": "all", "gsi1sk": sort})
        )
    items = list(cloud.table.query("gsi1pk = :pk", {":pk": "all"}, index="gsi1"))
    assert [item["pk"] for item in items] == ["c", "b", "a"]
