"""Every AWS call the deployed functions make, in order, and the one that fails on purpose.

The functions' calls all go through the layer's clients (``listguard.aws.AwsClients``, one per service
and process). ``CallLog.attach`` makes that process's clients at once and registers botocore event
hooks on each: the layer keeps the very clients, configuration and retries it would have made itself,
and a hook does nothing unless a fault is armed for its call. Calls made by the console, the test
driver, the local cloud or moto's Step Functions interpreter go through other clients: they are
neither recorded nor faulted (the platform is not the target; the functions' calls are).

A call is one API operation as the layer asks for it (``client.put_item(...)``); botocore's own
retries of it are part of that one call. A fault hits the N-th call in one of three ways:

``lost_request``
    The caller gets a throttling error and nothing happened: the request never reached the service,
    or every attempt botocore made was throttled. Raised in ``before-call``, before botocore's retry
    loop (which would only have been throttled again).
``lost_response``
    The call took effect, then the caller sees a ``ReadTimeoutError``: the answer to botocore's last
    attempt was lost. Raised in ``after-call``, after botocore's retry loop, so the caller sees it.
``resent_request``
    The call took effect and its answer was lost, and botocore sent the request again, as its
    standard retry mode does after a read timeout: the service sees the same request twice, the
    caller sees the second answer. Raised in ``before-send`` after moto answered the first attempt,
    inside botocore's retry loop.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

#: The layer's clients (``AwsClients`` attributes): each service's, and the campaigns' SES client, which
#: makes one attempt per call (its calls are the campaign emails).
LAYER_CLIENTS = ("s3", "sns", "dynamodb", "sfn", "sesv2", "sesv2_single_attempt")

#: The error each service returns when it throttles a caller (what a lost request looks like).
THROTTLING = {
    "s3": ("SlowDown", 503),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "sesv2": ("TooManyRequestsException", 429),
    "sns": ("Throttling", 400),
    "sfn": ("ThrottlingException", 400),
}

_CALL_NUMBER = "listguard_chaos_call"


class FaultKind(StrEnum):
    LOST_REQUEST = "lost_request"
    LOST_RESPONSE = "lost_response"
    RESENT_REQUEST = "resent_request"


@dataclass(frozen=True)
class Fault:
    """The ``call``-th call (1-based) of a run fails as ``kind`` says, once."""

    call: int
    kind: FaultKind

    def __str__(self) -> str:
        return f"{self.kind} at call {self.call}"


@dataclass(frozen=True)
class Outage:
    """Part of a flow's story, not a fault of the sweep: every call of ``operation`` (``s3.PutObject``)
    by a function whose name contains ``function`` fails with ``code`` while the outage lasts."""

    function: str
    operation: str
    code: str = "ServiceUnavailable"

    def matches(self, call: Call) -> bool:
        return self.function in call.function and call.operation == self.operation


@dataclass(frozen=True)
class Call:
    """One recorded call: its number, who made it and what it asked."""

    number: int
    function: str
    operation: str
    #: The task of the import state machine (``import_steps``' step) or "" for other functions.
    step: str = ""
    #: It failed because of the flow's own outage (such calls are not faulted by the sweep).
    in_outage: bool = False

    @property
    def who(self) -> str:
        return f"{self.function}[{self.step}]" if self.step else self.function

    def __str__(self) -> str:
        return f"#{self.number} {self.who} {self.operation}"


@dataclass
class CallLog:
    """The calls of one run, and the fault (at most one) armed for it."""

    fault: Fault | None = None
    calls: list[Call] = field(default_factory=list)
    #: The fault went off (its call was made).
    fired: bool = False
    #: What the faulted call was, to check the run followed the reference up to it.
    faulted_call: Call | None = None
    outages: list[Outage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _resent: set[int] = field(default_factory=set, repr=False)
    #: Which function, and which step of it, is running (the run's invocation tracker says).
    current_function: Callable[[], str] = field(
        default=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "?"), repr=False
    )
    current_step: Callable[[], str] = field(default=lambda: "", repr=False)

    def attach(self, clients: Any, region: str) -> None:
        """Makes every client of ``clients`` (an ``AwsClients``) now and hooks this log into each."""
        saved = os.environ.get("AWS_DEFAULT_REGION")
        os.environ["AWS_DEFAULT_REGION"] = region
        try:
            for name in LAYER_CLIENTS:
                events = getattr(clients, name).meta.events
                events.register("before-call", self._before_call)
                events.register("after-call", self._after_call)
                # Last: after moto's own before-send handler has answered the attempt.
                events.register_last("before-send", self._before_send)
        finally:
            if saved is None:
                os.environ.pop("AWS_DEFAULT_REGION", None)
            else:
                os.environ["AWS_DEFAULT_REGION"] = saved

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self.calls))

    def __len__(self) -> int:
        return len(self.calls)

    @contextlib.contextmanager
    def outage(self, outage: Outage) -> Iterator[Outage]:
        """The flow's ``outage`` lasts for the block."""
        self.outages.append(outage)
        try:
            yield outage
        finally:
            self.outages.remove(outage)

    # -- botocore hooks -----------------------------------------------------------------------------------

    def _before_call(self, event_name: str, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = event_name.split(".")[1]
        with self._lock:
            call = Call(
                number=len(self.calls) + 1,
                function=self.current_function(),
                operation=f"{service}.{model.name}",
                step=self.current_step(),
            )
            outage = next((o for o in self.outages if o.matches(call)), None)
            if outage is not None:
                call = Call(call.number, call.function, call.operation, call.step, in_outage=True)
            self.calls.append(call)
            fault = self._arm(call)
        context[_CALL_NUMBER] = call.number
        if outage is not None:
            raise _client_error(outage.code, 503, model.name, "the flow's outage")
        if fault is FaultKind.LOST_REQUEST:
            code, status = THROTTLING.get(service, ("ThrottlingException", 400))
            raise _client_error(code, status, model.name, "injected: lost request")

    def _after_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        number = context.get(_CALL_NUMBER)
        fault = self.fault
        if fault is not None and fault.kind is FaultKind.LOST_RESPONSE and number == fault.call:
            raise ReadTimeoutError(endpoint_url=f"https://{model.service_model.endpoint_prefix}.local")

    def _before_send(self, request: Any, **_: Any) -> None:
        number = (getattr(request, "context", None) or {}).get(_CALL_NUMBER)
        fault = self.fault
        if fault is None or fault.kind is not FaultKind.RESENT_REQUEST or number != fault.call:
            return
        with self._lock:
            if number in self._resent:
                return  # botocore's second attempt goes through
            self._resent.add(number)
        raise ReadTimeoutError(endpoint_url=request.url)

    def _arm(self, call: Call) -> FaultKind | None:
        if self.fault is None or call.number != self.fault.call or call.in_outage:
            return None
        self.fired = True
        self.faulted_call = call
        return self.fault.kind


def _client_error(code: str, status: int, operation: str, message: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )
