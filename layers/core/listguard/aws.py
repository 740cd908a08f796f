"""Lazy boto3 clients, created on first use and then reused by every warm invocation.

Never at import time: a client made before a test's ``mock_aws`` starts is not mocked, and a Lambda
init that creates clients it does not need pays for them on every cold start.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter for throttling and 5xx, on every call. The pool
# matches the contact writers' threads (urllib3 would otherwise drop connections past 10).
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    sns: Any
    #: The low-level DynamoDB client (thread-safe; ``listguard.stores.dynamo`` converts values).
    dynamodb: Any


@functools.cache
def aws_clients() -> AwsClients:
    """The clients of this process (tests call ``aws_clients.cache_clear()`` inside their mock)."""
    return AwsClients(
        s3=boto3.client("s3", config=_CONFIG),
        sns=boto3.client("sns", config=_CONFIG),
        dynamodb=boto3.client("dynamodb", config=_CONFIG),
    )
