"""Every use of a moto internal by the local cloud, in one module, for the one moto version it fits.

moto's public API (``mock_aws``, the AWS APIs it answers) leaves gaps that the local cloud can only fill
from inside moto: it runs Lambda code in Docker, which these machines do not have; it neither retries an
asynchronous invocation nor delivers its destination; its DynamoDB measures an item once per attribute;
and only its own resolver knows a deployed stack's physical ids. Each function below names the internal
it touches. ``check_moto_version`` stops the local cloud with a clear message on any other moto version,
instead of letting a patch misbehave; moto is pinned exactly in pyproject.toml.

Covered by tests/e2e/test_local_cloud_routing.py, tests/e2e/test_local_async_invocations.py,
tests/functional/test_moto_speedups.py, tests/functional/test_moto_dynamodb_atomic_and_fast.py and
tests/infra/test_local_cloud_state_machines.py.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import importlib
import json
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import LocalCloudError

SUPPORTED_MOTO_VERSION = "5.2.5"

InvocationType = Literal["RequestResponse", "Event", "DryRun"]


def check_moto_version(installed: str | None = None) -> None:
    """Raises LocalCloudError unless the installed moto is the version this module was written for."""
    if installed is None:
        import moto

        installed = moto.__version__
    if installed != SUPPORTED_MOTO_VERSION:
        raise LocalCloudError(
            f"the local cloud patches internals of moto {SUPPORTED_MOTO_VERSION}, but moto {installed} is "
            f"installed: install the pinned version (make venv), or port localcloud/motocompat.py to it"
        )


@dataclass(frozen=True)
class LambdaFunctionView:
    """What the local cloud reads of a function deployed in moto's Lambda backend."""

    name: str
    arn: str
    region: str
    memory_size: int
    timeout: float
    version: str
    environment: dict[str, str]
    event_invoke_config: dict[str, Any] = field(default_factory=dict)
    """As PutFunctionEventInvokeConfig took it (MaximumRetryAttempts, DestinationConfig); empty if none."""


@dataclass(frozen=True)
class InvocationOutcome:
    """One invocation as Lambda reports it: the JSON payload, whether the function errored, its log."""

    payload: str
    errored: bool
    logs: str = ""


InvocationHandler = Callable[[LambdaFunctionView, Any, InvocationType], InvocationOutcome]
"""Runs an invocation of a function with an event (the local cloud's Lambda service)."""


def _view(function: Any) -> LambdaFunctionView:
    """Internal: moto.awslambda.models.LambdaFunction's attributes."""
    # moto appends every PutFunctionEventInvokeConfig; on AWS the last one replaces the others.
    configs = function.event_invoke_config
    return LambdaFunctionView(
        name=function.function_name,
        arn=function.function_arn,
        region=function.region,
        memory_size=int(function.memory_size),
        timeout=float(function.timeout),
        version=str(function.version),
        environment={name: str(value) for name, value in (function.environment_vars or {}).items()},
        event_invoke_config=dict(configs[-1].config) if configs else {},
    )


# Lambda invocations ---------------------------------------------------------------------------------------
#
# Every invocation moto makes goes through one method,
# ``moto.awslambda.models.LambdaFunction.invoke(self, body, request_headers, response_headers)``: the Invoke
# API (with the X-Amz-Invocation-Type header), S3 notifications, SNS subscriptions, EventBridge rules, SQS,
# Kinesis and DynamoDB stream pollers (with no headers). It is replaced by a call to the local cloud's
# handler. The services that AWS invokes asynchronously are marked through a context variable set around
# the moto functions that call it; moto's pollers (SQS, streams) invoke synchronously, as Lambda does.

_ASYNC_CALLERS = (
    ("moto.s3.notifications", "_invoke_awslambda"),  # S3 event notifications
    ("moto.awslambda.models", "LambdaBackend.send_sns_message"),  # SNS subscriptions
    ("moto.events.notifications", "_invoke_lambda"),  # EventBridge rules
    ("moto.awslambda.models", "LambdaBackend.send_log_event"),  # CloudWatch Logs subscription filters
)
_CALLED_ASYNCHRONOUSLY = contextvars.ContextVar("called_asynchronously", default=False)
_PATCH_MARK = "__listguard_localcloud_patch__"
_handler: InvocationHandler | None = None
_install_lock = threading.Lock()


def _invocation_type(request_headers: Mapping[str, str]) -> InvocationType:
    for name, value in request_headers.items():
        if name.lower() == "x-amz-invocation-type":  # the Invoke API
            return "Event" if value == "Event" else "DryRun" if value == "DryRun" else "RequestResponse"
    return "Event" if _CALLED_ASYNCHRONOUSLY.get() else "RequestResponse"


def _invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
    """Replaces LambdaFunction.invoke: same arguments, same response headers, never raises into moto."""
    assert _handler is not None, "route_lambda_invocations() installs the handler first"
    invocation_type = _invocation_type(request_headers or {})
    event = json.loads(body) if body else {}
    # An invocation made from inside the handler is not asynchronous because this one is.
    token = _CALLED_ASYNCHRONOUSLY.set(False)
    try:
        outcome = _handler(_view(function), event, invocation_type)
    finally:
        _CALLED_ASYNCHRONOUSLY.reset(token)
    if invocation_type != "RequestResponse":
        return b""  # Lambda answers 202 (Event) or 204 (DryRun) with no payload
    if outcome.errored:
        response_headers["x-amz-function-error"] = "Unhandled"  # what Lambda says of a raised exception
    # LogType=Tail returns the last 4 KB of the log.
    response_headers["x-amz-log-result"] = base64.b64encode(outcome.logs.encode()[-4096:]).decode()
    return outcome.payload.encode()


def _marked_asynchronous(caller: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(caller)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _CALLED_ASYNCHRONOUSLY.set(True)
        try:
            return caller(*args, **kwargs)
        finally:
            _CALLED_ASYNCHRONOUSLY.reset(token)

    setattr(wrapper, _PATCH_MARK, True)
    return wrapper


def route_lambda_invocations(handler: InvocationHandler) -> None:
    """Every Lambda invocation moto makes now runs ``handler``. Idempotent; the last handler wins."""
    global _handler
    check_moto_version()
    from moto.awslambda.models import LambdaFunction

    with _install_lock:
        _handler = handler
        if not getattr(LambdaFunction.invoke, _PATCH_MARK, False):

            def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
                return _invoke(self, body, request_headers, response_headers)

            setattr(invoke, _PATCH_MARK, True)
            LambdaFunction.invoke = invoke  # type: ignore[method-assign]
        for module_name, attribute in _ASYNC_CALLERS:
            owner: Any = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            caller = getattr(owner, name)
            if not getattr(caller, _PATCH_MARK, False):
                setattr(owner, name, _marked_asynchronous(caller))


def lambda_invocations_are_routed() -> bool:
    from moto.awslambda.models import LambdaFunction

    return bool(getattr(LambdaFunction.invoke, _PATCH_MARK, False)) and _handler is not None


# DynamoDB items -------------------------------------------------------------------------------------------
#
# moto builds a stored item attribute by attribute through ``LimitedSizeDict.__setitem__``, which re-measures
# the whole item every time to enforce the 400 KB limit: quadratic in the number of attributes. A contact
# item has about twenty, so moto spent ~4 ms per item (a 6,000-row import took 25 s). ``Item.__init__`` is
# replaced by one that builds the attributes at once and measures the item once: the same limit, the same
# error, the same measure. Later updates of an item still go through moto's own check.

DYNAMODB_ITEM_SIZE_LIMIT = 405_000  # moto's own figure: "between 409 and 410KB", measured against AWS


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    # moto's measure: every attribute name's bytes plus every value's size.
    if sum(bytesize(key) + value.size() for key, value in values.items()) > DYNAMODB_ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, values)  # past LimitedSizeDict.__setitem__: measured just above


def speed_up_dynamodb_items() -> None:
    """Internal: moto.dynamodb.models.dynamo_type.Item.__init__. Idempotent."""
    check_moto_version()
    from moto.dynamodb.models.dynamo_type import Item

    Item.__init__ = _item_init  # type: ignore[method-assign]


def dynamodb_items_are_sped_up() -> bool:
    from moto.dynamodb.models.dynamo_type import Item

    return Item.__init__ is _item_init  # type: ignore[comparison-overlap]


# DynamoDB transactions and conditional writes ------------------------------------------------------------
#
# Two gaps, one patch of ``moto.dynamodb.models.DynamoDBBackend``:
#
# - Atomicity. DynamoDB checks a condition and writes as one step; moto reads, checks, then writes, and a
#   thread of the local cloud (a state machine's task, the console, a test's racing sender) can run in
#   between. Two racing ``attribute_not_exists`` puts could then both succeed. Every read and write of the
#   backend runs under one lock, so conditions and transactions are atomic as on AWS.
# - Cost. ``transact_write_items`` deep-copies every table a transaction touches before it starts, to roll
#   back on a failure: O(table) per transaction (a campaign's send is one transaction on the table of every
#   contact: ~0.2 s per email on a table of 1,000 items, and more as it grew). The replacement snapshots
#   only the items the transaction names, lets moto's own code do everything else (its conditions, errors
#   and cancellation reasons), and on a failure puts those items back. moto's table copy is skipped by
#   giving its module a ``copy`` whose ``deepcopy`` returns a Table as is (and copies anything else).

_DYNAMODB_LOCK = threading.RLock()
_ATOMIC_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
)


class _TablesAreNotCopied:
    """Stands for the ``copy`` module inside moto.dynamodb.models: tables are not copied, the rest is."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        import copy

        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _atomic(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def operation(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_LOCK:
            return original(*args, **kwargs)

    setattr(operation, _PATCH_MARK, True)
    return operation


def _transaction_with_item_snapshots(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        import copy

        with _DYNAMODB_LOCK:
            saved = []
            for entry in transact_items:
                _, operation = next(iter(entry.items()))
                table = self.tables.get(operation.get("TableName"))
                if table is None:
                    continue
                key = operation.get("Key") or operation.get("Item") or {}
                try:
                    hash_value, range_value = self.get_keys_value(table, key)
                except Exception:  # moto's own code reports the bad key
                    continue
                item = table.get_item(hash_value, range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(item)))
            try:
                return original(self, transact_items)
            except BaseException:
                for table, hash_value, range_value, item in reversed(saved):
                    if range_value is None:
                        if item is None:
                            table.items.pop(hash_value, None)
                        else:
                            table.items[hash_value] = item
                    elif item is None:
                        table.items[hash_value].pop(range_value, None)
                    else:
                        table.items[hash_value][range_value] = item
                raise

    setattr(transact_write_items, _PATCH_MARK, True)
    return transact_write_items


# DynamoDB queries -----------------------------------------------------------------------------------------
#
# ``Table.query`` starts from ``Table.all_items()``: every item of the table, sorted by its keys through
# DynamoType comparisons, on every query and every page of one. A query of one partition (an account's
# contacts, a campaign's ledger) cost O(table log table): once the demo's table held 10,000 items, a query of
# 300 contacts took a second. During a query, ``all_items`` is given only the candidates moto then keeps:
# the partition's items for a query of the table (moto filters on the hash key and sorts by the range key
# itself), and every item, unsorted, for a query of an index (moto sorts them by the index's keys, the
# table's keys breaking ties). The results are the same; the cost follows the partition.


def _query_over_candidates(original: Callable[..., Any]) -> Callable[..., Any]:
    import inspect

    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        hash_key, index_name = arguments.get("hash_key"), arguments.get("index_name")
        if not self.range_key_attr:
            return original(self, *args, **kwargs)
        if index_name is None and hash_key is not None:
            candidates = list(self.items.get(hash_key, {}).values())
        else:
            candidates = [item for partition in self.items.values() for item in partition.values()]
        self.all_items = lambda: candidates  # this query's only: the instance attribute hides the method
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    setattr(query, _PATCH_MARK, True)
    return query


def make_dynamodb_atomic_and_fast() -> None:
    """Internal: moto.dynamodb.models.DynamoDBBackend's reads and writes, its ``transact_write_items``,
    that module's ``copy``, and ``moto.dynamodb.models.table.Table.query``. Idempotent."""
    check_moto_version()
    import moto.dynamodb.models as dynamodb_models

    backend = dynamodb_models.DynamoDBBackend
    with _install_lock:
        if getattr(backend.transact_write_items, _PATCH_MARK, False):
            return
        for name in _ATOMIC_OPERATIONS:
            setattr(backend, name, _atomic(getattr(backend, name)))
        backend.transact_write_items = _transaction_with_item_snapshots(  # type: ignore[method-assign]
            backend.transact_write_items
        )
        dynamodb_models.copy = _TablesAreNotCopied  # type: ignore[assignment]
        # Queries run under the same lock (DynamoDBBackend.query calls Table.query).
        from moto.dynamodb.models.table import Table

        Table.query = _query_over_candidates(Table.query)  # type: ignore[method-assign]


def dynamodb_is_atomic_and_fast() -> bool:
    from moto.dynamodb.models import DynamoDBBackend

    return bool(getattr(DynamoDBBackend.transact_write_items, _PATCH_MARK, False))


# Step Functions waits ------------------------------------------------------------------------------------
#
# moto's interpreter sleeps a Retry's interval for real (``time.sleep`` in
# ``moto.stepfunctions.parser.asl.component.common.retry.retrier_decl``), and polls every 0.5 s for the answer
# to a callback task (``_DELAY_SECONDS_SYNC_CONDITION_CHECK`` in ``...state_task_service_callback``). The
# fault-injection sweep runs thousands of executions: while ``step_functions_without_waiting`` is active a
# retry follows at once (as the local cloud's Lambda retries do) and a task token's answer is seen within
# 5 ms. The Retry policy itself (which errors, how many attempts) is untouched.

_CALLBACK_POLL_SECONDS = 0.005


class _NoWait:
    @staticmethod
    def sleep(_seconds: float) -> None:
        return None


@contextlib.contextmanager
def step_functions_without_waiting() -> Iterator[None]:
    """Internal: the two module globals named above, restored on exit."""
    check_moto_version()
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )

    saved_time, saved_delay = retrier_decl.time, callback._DELAY_SECONDS_SYNC_CONDITION_CHECK
    retrier_decl.time = _NoWait  # type: ignore[assignment]
    callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = _CALLBACK_POLL_SECONDS  # type: ignore[misc]
    try:
        yield
    finally:
        retrier_decl.time = saved_time
        callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = saved_delay  # type: ignore[misc]


def step_functions_wait() -> tuple[bool, float]:
    """(whether a Retry sleeps for real, the callback poll interval) as moto now has them."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )

    return retrier_decl.time is not _NoWait, float(callback._DELAY_SECONDS_SYNC_CONDITION_CHECK)


# CloudFormation stacks ------------------------------------------------------------------------------------


def stack_resolver(stack_id: str, region: str) -> Callable[[Any], Any]:
    """Resolves CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Join) against a deployed stack.

    Internal: moto's own resolver (``moto.cloudformation.parsing.clean_json``) on the stack's resource
    map. The local cloud runs in the same process as moto in both modes, in-process and server.
    """
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import clean_json

    account_id = stack_id.split(":")[4]
    resource_map = cloudformation_backends[account_id][region].stacks[stack_id].resource_map

    def resolve(value: Any) -> Any:
        return clean_json(value, resource_map)

    return resolve


def resource_moto_could_not_create(stack_name: str, region: str) -> str:
    """Names the resource that broke a CreateStack.

    moto's CloudFormation creates resources synchronously inside CreateStack and lets a resource's exception
    escape (no CREATE_FAILED event), so the failing resource is the first one, in moto's creation order,
    that it has not created. Internal: the stack's ResourceMap.
    """
    try:
        from moto.cloudformation.models import cloudformation_backends

        for account_backends in cloudformation_backends.values():
            for stack in account_backends[region].stacks.values():
                if stack.name != stack_name:
                    continue
                resource_map = stack.resource_map
                creation_order = resource_map._ResourceMap__get_resources_in_dependency_order()  # type: ignore[attr-defined]
                for logical_id in creation_order:
                    if logical_id not in resource_map._parsed_resources:
                        resource_type = resource_map._resource_json_map[logical_id]["Type"]
                        return f"resource {logical_id} ({resource_type}) failed"
    except Exception:  # best effort: the caller still reports moto's own error
        pass
    return "a resource failed"


def silence_skipped_resource_warnings(resource_type: str) -> None:
    """moto warns, on every parse of the stack, about a resource type its CloudFormation skips: quiet for
    ``resource_type``, which the local cloud applies itself. Idempotent.

    Internal: the texts and the logger ("moto") of moto.cloudformation.parsing.
    """
    warnings.filterwarnings("ignore", message=f"Tried to parse {re.escape(resource_type)} ")
    moto_logger = logging.getLogger("moto")
    if not any(getattr(f, "resource_type", None) == resource_type for f in moto_logger.filters):
        moto_logger.addFilter(_SkippedResourceFilter(resource_type))


class _SkippedResourceFilter(logging.Filter):
    def __init__(self, resource_type: str) -> None:
        super().__init__()
        self.resource_type = resource_type

    def filter(self, record: logging.LogRecord) -> bool:
        unsupported = record.msg == "No Moto CloudFormation support for %s"
        return not (unsupported and self.resource_type in (record.args or ()))


# The HTTP endpoint ----------------------------------------------------------------------------------------


class HttpServer:
    """moto's server application behind 127.0.0.1:``port``, serving the backends of this process.

    Internal: ``moto.moto_server.werkzeug_app``, as ``ThreadedMotoServer`` uses it; that class waits forever
    when its thread fails to bind the port, whereas this one binds here and raises LocalCloudError.
    """

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        try:
            self._server = make_server(
                "127.0.0.1",
                port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=MotoRequestHandler,
            )
        except OSError as exc:
            raise LocalCloudError(f"port {port} on 127.0.0.1 is in use ({exc.strerror})") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


# -- SES: the emails sent ------------------------------------------------------------------------------


def sent_emails(region: str = "us-east-1") -> list[str]:
    """Every email SES sent in this process, as raw MIME (what the customer's mail program receives).

    Internal: ``moto.ses.models.ses_backends[account][region].sent_messages``; SES v2 keeps its messages
    there too. A raw message has ``raw_data``; a simple one only its body.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
    return [str(getattr(message, "raw_data", None) or getattr(message, "body", "")) for message in messages]
