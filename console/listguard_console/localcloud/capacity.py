"""DynamoDB's capacity units, counted from the requests a client sends: what a flow costs per contact.

moto does not charge capacity, so this meter wraps a low-level DynamoDB client: before and after each
write it reads the item (through another client, uncounted) and charges what DynamoDB charges on demand:

- a write: ceil(size / 1 KB) of the larger of the item before and after, plus, for every GSI (all
  attributes projected), one write for the index entry put and one for the entry deleted when the
  item's key in that index changes or goes; a conditional write that fails still costs its size;
- a transactional write: twice that;
- a strongly consistent read: ceil(size / 4 KB) per item (an item not found still costs 1); a query
  reads its items' sizes together (and half of that on an index, eventually consistent).

Item size follows DynamoDB's rules (attribute names and values in UTF-8, numbers by their digits).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024
TYPICAL_ITEM_BYTES = 400
READ_UNIT_BYTES = 4096
_WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_READS = ("get_item", "batch_get_item", "query")


def item_size(item: Mapping[str, Any]) -> int:
    """The size DynamoDB bills for an item in its typed JSON form (``{"S": ...}`` values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = len(str(Decimal(inner)).replace("-", "").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v).encode()) for v in inner)
    return 0


@dataclass
class Meter:
    """Capacity units, items read and calls charged so far."""

    write_units: float = 0.0
    read_units: float = 0.0
    items_read: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    #: Write units by operation, to see where a flow's cost goes.
    writes_by_call: dict[str, float] = field(default_factory=dict)

    def reset(self) -> None:
        self.write_units, self.read_units, self.items_read, self.calls = 0.0, 0.0, 0, {}
        self.writes_by_call = {}

    def charge(self, call: str, units: float) -> None:
        self.write_units += units
        self.writes_by_call[call] = self.writes_by_call.get(call, 0) + units


class _Table:
    def __init__(self, description: Mapping[str, Any]) -> None:
        self.key_names = [k["AttributeName"] for k in description["KeySchema"]]
        self.indexes = {
            index["IndexName"]: [k["AttributeName"] for k in index["KeySchema"]]
            for index in description.get("GlobalSecondaryIndexes", [])
        }


@contextmanager
def metered(client: Any, raw: Any) -> Iterator[Meter]:
    """Charges every DynamoDB call made through ``client`` while the block runs; ``raw`` is another
    client on the same tables, used to read items before and after each write (never charged)."""
    meter = Meter()
    tables: dict[str, _Table] = {}
    originals = {name: getattr(client, name) for name in (*_WRITES, *_READS)}

    def table(name: str) -> _Table:
        if name not in tables:
            tables[name] = _Table(raw.describe_table(TableName=name)["Table"])
        return tables[name]

    def current(table_name: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = raw.get_item(TableName=table_name, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item

    def key_of(table_name: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in table(table_name).key_names}

    def charge_write(
        name: str, table_name: str, key: Mapping[str, Any], write: Callable[[], Any], factor: float = 1
    ) -> Any:
        before = current(table_name, key)
        try:
            result = write()
        except Exception:
            meter.charge(name, factor * max(1, math.ceil(item_size(before or key) / WRITE_UNIT_BYTES)))
            raise
        after = current(table_name, key)
        meter.charge(name, factor * _write_units(table(table_name), before, after))
        return result

    def wrap(name: str) -> Callable[..., Any]:
        original = originals[name]

        def call(**kwargs: Any) -> Any:
            meter.calls[name] = meter.calls.get(name, 0) + 1
            if name in ("put_item", "update_item", "delete_item"):
                key = kwargs.get("Key") or key_of(kwargs["TableName"], kwargs["Item"])
                return charge_write(name, kwargs["TableName"], key, lambda: original(**kwargs))
            if name == "batch_write_item":
                for table_name, requests in kwargs["RequestItems"].items():
                    for request in requests:
                        put, delete = request.get("PutRequest"), request.get("DeleteRequest")
                        key = delete["Key"] if delete else key_of(table_name, put["Item"])
                        before = current(table_name, key)
                        after = None if delete else put["Item"]
                        meter.charge(name, _write_units(table(table_name), before, after))
                return original(**kwargs)
            if name == "transact_write_items":
                for entry in kwargs["TransactItems"]:
                    ((kind, request),) = entry.items()
                    if kind == "ConditionCheck":
                        meter.read_units += 2
                        continue
                    key = request.get("Key") or key_of(request["TableName"], request["Item"])
                    before = current(request["TableName"], key)
                    meter.charge(name, 2 * max(1, math.ceil(item_size(before or key) / WRITE_UNIT_BYTES)))
                return original(**kwargs)
            result = original(**kwargs)
            meter.read_units += _read_units(name, kwargs, result)
            meter.items_read += _items_read(name, kwargs, result)
            return result

        return call

    for name in originals:
        setattr(client, name, wrap(name))
    try:
        yield meter
    finally:
        for name, original in originals.items():
            setattr(client, name, original)


def _write_units(table: _Table, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> float:
    size = max(item_size(before or {}), item_size(after or {}))
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    for key_names in table.indexes.values():
        old_key = _index_key(before, key_names)
        new_key = _index_key(after, key_names)
        if new_key is not None:
            units += max(1, math.ceil(item_size(after or {}) / WRITE_UNIT_BYTES))
        if old_key is not None and old_key != new_key:
            units += 1  # the old index entry is deleted
    return units


def _index_key(item: Mapping[str, Any] | None, key_names: list[str]) -> tuple[str, ...] | None:
    if item is None or not all(name in item for name in key_names):
        return None
    return tuple(str(item[name]) for name in key_names)


def _items_read(name: str, request: Mapping[str, Any], result: Mapping[str, Any]) -> int:
    """Items a call read: asked for by key, or scanned by a query (a count reads them too)."""
    if name == "get_item":
        return 1
    if name == "batch_get_item":
        return sum(len(r["Keys"]) for r in request["RequestItems"].values())
    return int(result.get("ScannedCount", len(result.get("Items", []))))


def _read_units(name: str, request: Mapping[str, Any], result: Mapping[str, Any]) -> float:
    if name == "get_item":
        return max(1, math.ceil(item_size(result.get("Item") or {}) / READ_UNIT_BYTES))
    if name == "batch_get_item":
        asked = sum(len(r["Keys"]) for r in request["RequestItems"].values())
        found = [i for items in result.get("Responses", {}).values() for i in items]
        found_units = sum(max(1, math.ceil(item_size(i) / READ_UNIT_BYTES)) for i in found)
        units = found_units + (asked - len(found))  # an item not found still costs a unit
        consistent = all(r.get("ConsistentRead") for r in request["RequestItems"].values())
        return units if consistent else units / 2
    items = result.get("Items", [])
    # A count returns no items: it reads them all the same (counted here at a contact's typical size).
    scanned = sum(item_size(i) for i in items) or int(result.get("ScannedCount", 0)) * TYPICAL_ITEM_BYTES
    units = max(1, math.ceil(scanned / READ_UNIT_BYTES))
    return units / 2 if "IndexName" in request or not request.get("ConsistentRead") else units
