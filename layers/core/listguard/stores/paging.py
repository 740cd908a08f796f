"""One page of a query at a time, resumable from a cursor.

``Table.query`` walks every page in one call; a step that must stop at its time budget and hand the
rest to the next invocation needs the page boundary instead: the last key it read is its cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from listguard.stores.dynamo import Item, Table, deserialize, serialize


@dataclass(frozen=True)
class Page:
    items: list[Item]
    #: The sort key of the last item read (matched or filtered out), or None after the last page.
    last_sk: str | None


def query_page(
    table: Table,
    *,
    pk: str,
    sk_prefix: str,
    after_sk: str | None = None,
    filter_expression: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    limit: int | None = None,
    projection: tuple[str, ...] = (),
    consistent: bool = True,
) -> Page:
    """The items of partition ``pk`` whose sort key starts with ``sk_prefix``, after ``after_sk``.

    ``limit`` bounds the items read (DynamoDB applies it before the filter), so a page may hold fewer
    matches than that, or none, and still not be the last.
    """
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": serialize({":pk": pk, ":prefix": sk_prefix, **(values or {})}),
        "ConsistentRead": consistent,
    }
    all_names = dict(names or {})
    if projection:
        aliases = {f"#p{i}": name for i, name in enumerate(projection)}
        kwargs["ProjectionExpression"] = ", ".join(aliases)
        all_names |= aliases
    if all_names:
        kwargs["ExpressionAttributeNames"] = all_names
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    if limit is not None:
        kwargs["Limit"] = limit
    if after_sk is not None:
        kwargs["ExclusiveStartKey"] = serialize({"pk": pk, "sk": after_sk})
    response = table.client.query(**kwargs)
    last = response.get("LastEvaluatedKey")
    return Page(
        items=[deserialize(raw) for raw in response["Items"]],
        last_sk=deserialize(last)["sk"] if last else None,
    )
