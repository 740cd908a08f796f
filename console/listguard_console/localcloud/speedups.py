"""Make moto's DynamoDB fast enough for imports of thousands of contacts, and atomic per request as
DynamoDB is (see motocompat: DynamoDB items, DynamoDB requests are atomic).

Kept for the callers that install it by this name (tests/conftest.py).
"""

from __future__ import annotations

from .motocompat import make_dynamodb_requests_atomic, speed_up_dynamodb_items


def install() -> None:
    """Idempotent."""
    speed_up_dynamodb_items()
    make_dynamodb_requests_atomic()
