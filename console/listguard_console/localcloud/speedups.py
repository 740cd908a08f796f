"""Make moto's DynamoDB fast enough for imports of thousands of contacts.

moto checks the 400 KB item limit in ``LimitedSizeDict.__setitem__`` by re-measuring the whole
item on every attribute it stores: quadratic in the number of attributes. A contact item has
about twenty attributes, so moto spent ~4 ms per item (a 6,000-row import took 25 s). We keep the
same limit and the same error, but keep the running size instead of re-measuring it.
moto is pinned exactly (pyproject.toml); tests/e2e/test_speedups.py covers this.
"""

from __future__ import annotations

from typing import Any

ITEM_SIZE_LIMIT = 405_000  # moto's own figure: "between 409 and 410KB", measured against AWS


def _attribute_size(key: str, value: Any) -> int:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    return bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value)))


def _setitem_with_running_size(self: Any, key: str, value: Any) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge

    size = self.__dict__.get("_running_size")
    if size is None:
        size = sum(_attribute_size(k, v) for k, v in self.items())
    if key in self:
        size -= _attribute_size(key, self[key])
    size += _attribute_size(key, value)
    if size > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    dict.__setitem__(self, key, value)
    self.__dict__["_running_size"] = size


def install() -> None:
    """Idempotent."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    LimitedSizeDict.__setitem__ = _setitem_with_running_size  # type: ignore[method-assign,assignment]
