"""Make moto's DynamoDB fast enough for imports of thousands of contacts (see motocompat: DynamoDB items).

Kept for the callers that install it by this name (tests/conftest.py).
"""

from __future__ import annotations

from .motocompat import speed_up_dynamodb_items, speed_up_dynamodb_transactions


def install() -> None:
    """Idempotent."""
    speed_up_dynamodb_items()
    speed_up_dynamodb_transactions()
