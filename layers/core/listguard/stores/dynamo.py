"""The one table, through boto3's low-level client: typed values in and out, paging, conditions.

The low-level client is thread-safe (the resource layer is not) and cheaper per call; values cross
this module as plain Python (str, int, Decimal, dict, list) and DynamoDB's typed JSON stays inside.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

Item = dict[str, Any]

#: BatchGetItem reads at most 100 keys per call; BatchWriteItem writes at most 25 items.
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConditionFailedError(Exception):
    """A conditional write found the item in another state; ``current`` is that item (None if absent)."""

    def __init__(self, current: Item | None) -> None:
        super().__init__("the item changed since it was read")
        self.current = current


class TransactionConflictError(Exception):
    """A transaction was cancelled: one of its conditions failed, or another transaction held one of its
    items up through every attempt (``reasons`` has one code per item)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    @property
    def condition_failed(self) -> bool:
        return CONDITION_FAILED in self.reasons


CONDITION_FAILED = "ConditionalCheckFailed"
#: Tries of a transaction that others held up (``TransactionConflict``), 50 ms apart, doubling.
TRANSACTION_ATTEMPTS = 5


def _only_held_up(reasons: Sequence[str]) -> bool:
    return "TransactionConflict" in reasons and CONDITION_FAILED not in reasons


class UnprocessedKeysError(RuntimeError):
    """DynamoDB kept returning unprocessed keys or items after every retry (sustained throttling)."""


def to_dynamodb(value: Any) -> Any:
    """DynamoDB numbers are Decimals: floats (rates) are converted through their shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamodb(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(to_dynamodb(value)) for name, value in item.items()}


def deserialize(item: Mapping[str, Any]) -> Item:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    """Decimals that are whole numbers become ints (counts, revisions); others stay Decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Table:
    """One DynamoDB table."""

    def __init__(self, client: Any, name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.name = name
        self._sleep = sleep

    # -- single items ---------------------------------------------------------------------------------

    def get(self, key: Mapping[str, str], *, projection: Sequence[str] = ()) -> Item | None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize(key), "ConsistentRead": True}
        kwargs.update(_projection(projection))
        response = self.client.get_item(**kwargs)
        return deserialize(response["Item"]) if "Item" in response else None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Put an item; ``ConditionFailedError`` (with the current item) when ``condition`` fails."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        kwargs.update(_condition(condition, names, values))
        self._conditional(self.client.put_item, kwargs)

    def update(
        self,
        key: Mapping[str, str],
        *,
        update: str,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        returns: str = "NONE",
    ) -> Item:
        """Update an item; returns what ``returns`` asks for (``ALL_OLD``, ``ALL_NEW``, ...)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize(key),
            "UpdateExpression": update,
            "ReturnValues": returns,
        }
        kwargs.update(_condition(condition, names, values))
        response = self._conditional(self.client.update_item, kwargs)
        return deserialize(response.get("Attributes") or {})

    def delete(
        self,
        key: Mapping[str, str],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize(key)}
        kwargs.update(_condition(condition, names, values))
        self._conditional(self.client.delete_item, kwargs)

    def _conditional(self, call: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if "ConditionExpression" in kwargs:
            # The current item comes with the failure: no second read to learn what changed.
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            return call(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = error.response.get("Item")
            raise ConditionFailedError(deserialize(current) if current else None) from None

    def transact(self, operations: Sequence[Mapping[str, Any]]) -> None:
        """All or nothing: ``operations`` are ``{"put": item}``, ``{"update": key, "expression": ...}``,
        each with an optional ``condition``, ``names`` and ``values``."""
        items = []
        for operation in operations:
            request: dict[str, Any] = {"TableName": self.name}
            if "put" in operation:
                request["Item"] = serialize(operation["put"])
                kind = "Put"
            else:
                request["Key"] = serialize(operation["update"])
                request["UpdateExpression"] = operation["expression"]
                kind = "Update"
            request.update(
                _condition(operation.get("condition"), operation.get("names"), operation.get("values"))
            )
            items.append({kind: request})
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                # Held up by another transaction on one of its items (no condition failed): a cancelled
                # transaction did nothing, so it is tried again, a little later.
                if not _only_held_up(reasons) or attempt + 1 == TRANSACTION_ATTEMPTS:
                    raise TransactionConflictError(reasons) from None
                time.sleep(0.05 * 2**attempt)

    # -- many items -----------------------------------------------------------------------------------

    def query(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
        filter_expression: str | None = None,
        projection: Sequence[str] = (),
        consistent: bool = False,
        limit: int | None = None,
        forward: bool = True,
        page_size: int | None = None,
    ) -> Iterator[Item]:
        """The matching items, page by page (at most ``limit`` of them)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        else:
            kwargs["ConsistentRead"] = consistent
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        all_names = dict(names or {})
        if projection:
            projected = _projection(projection)
            kwargs["ProjectionExpression"] = projected["ProjectionExpression"]
            all_names.update(projected["ExpressionAttributeNames"])
        if all_names:
            kwargs["ExpressionAttributeNames"] = all_names
        remaining = limit
        while True:
            if remaining is not None or page_size is not None:
                kwargs["Limit"] = min(n for n in (remaining, page_size) if n is not None)
            page = self.client.query(**kwargs)
            for raw in page["Items"]:
                yield deserialize(raw)
            if remaining is not None:
                remaining -= len(page["Items"])
                if remaining <= 0:
                    return
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count(self, key_condition: str, values: Mapping[str, Any], *, index: str | None = None) -> int:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "Select": "COUNT",
        }
        if index:
            kwargs["IndexName"] = index
        else:
            kwargs["ConsistentRead"] = True
        total = 0
        while True:
            page = self.client.query(**kwargs)
            total += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def batch_write(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
    ) -> None:
        """Put items (plain puts, no condition), 25 per call. ``UnprocessedItems`` is DynamoDB's answer to
        throttling on part of a batch: wait exponentially (full jitter), then ``UnprocessedKeysError``."""
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            requests = [
                {"PutRequest": {"Item": serialize(item)}} for item in items[start : start + BATCH_WRITE_LIMIT]
            ]
            attempt = 0
            while requests:
                response = self.client.batch_write_item(RequestItems={self.name: requests})
                requests = response.get("UnprocessedItems", {}).get(self.name, [])
                if not requests:
                    break
                attempt += 1
                if attempt >= max_attempts:
                    raise UnprocessedKeysError(f"{len(requests)} items still unprocessed on {self.name}")
                self._sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))

    def batch_get(
        self,
        keys: Iterable[Mapping[str, str]],
        *,
        projection: Sequence[str] = (),
        consistent: bool = True,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
    ) -> list[Item]:
        """The items that exist among ``keys`` (strongly consistent unless told), in no particular order.

        ``UnprocessedKeys`` is DynamoDB's answer to throttling on part of a batch: wait exponentially
        (full jitter), and give up with ``UnprocessedKeysError`` after ``max_attempts``.
        """
        found: list[Item] = []
        unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                "Keys": [serialize(k) for k in unique[start : start + BATCH_GET_LIMIT]],
                "ConsistentRead": consistent,
                **_projection(projection),
            }
            attempt = 0
            while request["Keys"]:
                response = self.client.batch_get_item(RequestItems={self.name: request})
                found.extend(deserialize(raw) for raw in response["Responses"].get(self.name, []))
                request["Keys"] = response.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
                if not request["Keys"]:
                    break
                attempt += 1
                if attempt >= max_attempts:
                    raise UnprocessedKeysError(
                        f"{len(request['Keys'])} keys still unprocessed on {self.name}"
                    )
                self._sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))
        return found


def _projection(names: Sequence[str]) -> dict[str, Any]:
    if not names:
        return {}
    aliases = {f"#p{i}": name for i, name in enumerate(names)}
    return {"ProjectionExpression": ", ".join(aliases), "ExpressionAttributeNames": aliases}


def _condition(
    condition: str | None, names: Mapping[str, str] | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = dict(names)
    if values:
        kwargs["ExpressionAttributeValues"] = serialize(values)
    return kwargs
