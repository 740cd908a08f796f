"""Make moto's DynamoDB fast enough for imports of thousands of contacts.

moto builds a stored item attribute by attribute through ``LimitedSizeDict.__setitem__``, which
re-measures the whole item every time to enforce the 400 KB limit: quadratic in the number of
attributes. A contact item has about twenty, so moto spent ~4 ms per item (a 6,000-row import took
25 s). We build the item's attributes at once and measure the item once: the same limit, the same
error, the same measure. Later updates of an item still go through moto's own check.
moto is pinned exactly (pyproject.toml); tests/functional/test_moto_speedups.py covers this.
"""

from __future__ import annotations

from typing import Any

ITEM_SIZE_LIMIT = 405_000  # moto's own figure: "between 409 and 410KB", measured against AWS


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    # moto's measure: every attribute name's bytes plus every value's size.
    if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, values)  # past LimitedSizeDict.__setitem__: measured just above


def install() -> None:
    """Idempotent."""
    from moto.dynamodb.models.dynamo_type import Item

    Item.__init__ = _item_init  # type: ignore[method-assign]
