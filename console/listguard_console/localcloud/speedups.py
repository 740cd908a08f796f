"""Make moto's DynamoDB fast enough for imports of thousands of contacts, and atomic and fast enough for
campaigns (see motocompat: DynamoDB items; DynamoDB transactions and conditional writes; queries).

Kept for the callers that install it by this name (tests/conftest.py).
"""

from __future__ import annotations

from .motocompat import make_dynamodb_atomic_and_fast, speed_up_dynamodb_items


def install() -> None:
    """Idempotent."""
    speed_up_dynamodb_items()
    make_dynamodb_atomic_and_fast()
