"""Lazy boto3 clients, each created on first use and then reused by every warm invocation.

Never at import time: a client made before a test's ``mock_aws`` starts is not mocked, and a Lambda
init that creates clients it does not need pays for them on every cold start.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as ConnectionFailedError

# Standard retry mode: exponential backoff with jitter for throttling and 5xx, on every call. The pool
# matches the contact writers' threads (urllib3 would otherwise drop connections past 10).
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)
#: Messages to people (SES emails, SNS notifications) are sent at most once. The SDK would send a request
#: again after a timeout or a 5xx, although the first may have gone out (SES and SNS standard topics have
#: no idempotency key): one attempt only, and the notifier decides (a refusal is retried by the flow, an
#: attempt without an answer is never repeated).
_AT_MOST_ONCE = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=16)


class AwsClients:
    """The clients of this process, one per service, made when first asked for."""

    @functools.cached_property
    def s3(self) -> Any:
        return boto3.client("s3", config=_CONFIG)

    @functools.cached_property
    def sns(self) -> Any:
        return boto3.client("sns", config=_AT_MOST_ONCE)

    @functools.cached_property
    def dynamodb(self) -> Any:
        """The low-level client (thread-safe; ``listguard.stores.dynamo`` converts values)."""
        return boto3.client("dynamodb", config=_CONFIG)

    @functools.cached_property
    def sfn(self) -> Any:
        return boto3.client("stepfunctions", config=_CONFIG)

    @functools.cached_property
    def sesv2(self) -> Any:
        return boto3.client("sesv2", config=_AT_MOST_ONCE)

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


#: What botocore raises when a call got no answer at all (a timeout, a dropped connection): the call may or
#: may not have taken effect, unlike a ``ClientError``, which is the service's own answer.
NO_ANSWER_ERRORS: tuple[type[Exception], ...] = (HTTPClientError, ConnectionFailedError)


class AwsNoAnswerError(RuntimeError):
    """An AWS call got no answer, even after the SDK's retries (a timeout, a dropped connection): it may or
    may not have taken effect. Every step of a state machine is safe to run again, so its ``Retry`` names
    this error (botocore's own error names vary with where the connection broke)."""


class AwsServiceError(RuntimeError):
    """An AWS service refused a call, even after the SDK's retries (throttling, a 5xx, a refusal). botocore
    raises each as a class of its own (``ProvisionedThroughputExceededException``, ``SlowDown``, ...),
    and Lambda reports the class's name, which no ``Retry`` could list in full: every step of a state
    machine is safe to run again, so its ``Retry`` names this error."""


def aws_errors_are_retryable[**P, R](handler: Callable[P, R]) -> Callable[P, R]:
    """A Lambda handler of a state machine's task whose AWS call failed fails with one of two names its
    ``Retry`` lists: ``AwsNoAnswerError`` (no answer) or ``AwsServiceError`` (the service's refusal).
    The message names the operation and the error code only (never a message that may quote data)."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except NO_ANSWER_ERRORS as error:
            raise AwsNoAnswerError(
                f"no answer from AWS ({type(error).__name__}); safe to run again"
            ) from error
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "unknown")
            raise AwsServiceError(f"{error.operation_name} refused ({code}); safe to run again") from error
        except S3UploadFailedError as error:
            raise AwsServiceError("an upload to S3 failed; safe to run again") from error

    return wrapper
