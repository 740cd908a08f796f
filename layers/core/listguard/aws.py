"""Lazy boto3 clients, each created on first use and then reused by every warm invocation.

Never at import time: a client made before a test's ``mock_aws`` starts is not mocked, and a Lambda
init that creates clients it does not need pays for them on every cold start.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter for throttling and 5xx, on every call. The pool
# matches the contact writers' threads (urllib3 would otherwise drop connections past 10).
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)


class AwsClients:
    """The clients of this process, one per service, made when first asked for."""

    @functools.cached_property
    def s3(self) -> Any:
        return boto3.client("s3", config=_CONFIG)

    @functools.cached_property
    def sns(self) -> Any:
        return boto3.client("sns", config=_CONFIG)

    @functools.cached_property
    def dynamodb(self) -> Any:
        """The low-level client (thread-safe; ``listguard.stores.dynamo`` converts values)."""
        return boto3.client("dynamodb", config=_CONFIG)

    @functools.cached_property
    def sfn(self) -> Any:
        return boto3.client("stepfunctions", config=_CONFIG)

    @functools.cached_property
    def sesv2(self) -> Any:
        return boto3.client("sesv2", config=_CONFIG)

    @functools.cached_property
    def sesv2_single_attempt(self) -> Any:
        """For campaign emails: one attempt per call. A retry after a lost answer could send a second
        email; the send ledger decides what happens to an email whose answer was lost."""
        return boto3.client(
            "sesv2", config=_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
        )


@functools.cache
def aws_clients() -> AwsClients:
    """The clients of this process (tests call ``aws_clients.cache_clear()`` inside their mock)."""
    return AwsClients()
