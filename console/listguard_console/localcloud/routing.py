"""Runs one attempt of a Lambda invocation on the local cloud: the real handler module, in this process.

moto runs Lambda code in Docker, which these machines do not have. Every invocation (``lambda:Invoke``,
S3 notifications, SNS subscriptions, Step Functions tasks) reaches the local cloud through
motocompat.route_lambda_invocations; invocations.py decides how many attempts to make, and ``run`` makes
one: it finds the function's source through ``ROUTES`` and calls the handler with the function's
environment and a Lambda context.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .motocompat import InvocationOutcome, LambdaFunctionView


@dataclass(frozen=True)
class HandlerRoute:
    """Where a deployed function's code lives on disk: ``code_dir`` and ``handler`` ("app.lambda_handler")."""

    code_dir: Path
    handler: str

    @property
    def module_file(self) -> Path:
        module_path, _ = self.handler.rsplit(".", 1)
        return self.code_dir / (module_path.replace(".", "/") + ".py")

    @property
    def function_attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


# Deployed function name -> its source. Filled by the deploy; tests may point an entry elsewhere.
ROUTES: dict[str, HandlerRoute] = {}

# Applied over every function's own environment. No X-Ray daemon runs locally (as with `sam local`),
# so tracing is off. Callers pass their own variables to LocalCloud.start(environment=...) instead of
# changing this dict (it is still read, for callers that have not moved yet).
LOCAL_ENVIRONMENT: dict[str, str] = {"POWERTOOLS_TRACE_DISABLED": "true"}

# The running local cloud's own variables (LocalCloud.start/serve's ``environment``), applied last.
_CLOUD_ENVIRONMENT: dict[str, str] = {}


@contextlib.contextmanager
def cloud_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Applies ``variables`` over every function's environment while the block runs."""
    saved = dict(_CLOUD_ENVIRONMENT)
    _CLOUD_ENVIRONMENT.clear()
    _CLOUD_ENVIRONMENT.update({name: str(value) for name, value in variables.items()})
    try:
        yield
    finally:
        _CLOUD_ENVIRONMENT.clear()
        _CLOUD_ENVIRONMENT.update(saved)


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_seconds: float = 3.0
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# os.environ is process-wide and the moto server is threaded: one invocation at a time. Re-entrant
# because an invocation can trigger another one synchronously on the same thread (an S3 put that
# notifies a function, an SNS publish to a lambda subscription).
_INVOCATION_LOCK = threading.RLock()
_MODULES: dict[tuple[Path, float], ModuleType] = {}


def invoke(route: HandlerRoute, event: Any, context: LambdaContext, environment: Mapping[str, str]) -> Any:
    """Calls the handler with ``environment`` applied to os.environ (restored afterwards)."""
    with _INVOCATION_LOCK, _environment(environment):
        handler = _load_handler(route)
        return handler(event, context)


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update({name: str(value) for name, value in variables.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_handler(route: HandlerRoute) -> Callable[[Any, Any], Any]:
    """Loads the module by file path under a unique name (every function's module is called ``app``).

    Like a warm Lambda, the module stays loaded between invocations, until its file changes.
    """
    module_file = route.module_file.resolve()
    if not module_file.is_file():
        raise FileNotFoundError(f"handler module not found: {module_file}")
    key = (module_file, module_file.stat().st_mtime)
    module = _MODULES.get(key)
    if module is None:
        unique_name = "listguard_local_lambda_" + hashlib.sha1(str(module_file).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(unique_name, module_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # The function's own directory is importable, as /var/task is in Lambda.
        sys.path.insert(0, str(route.code_dir))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(route.code_dir))
        _MODULES[key] = module
    handler: Callable[[Any, Any], Any] = getattr(module, route.function_attribute)
    return handler


def _error_payload(exc: BaseException, request_id: str) -> str:
    # The shape of the Python runtime's error for an exception the handler raised.
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    )


def run(function: LambdaFunctionView, event: Any, request_id: str) -> InvocationOutcome:
    """One attempt: the handler's result or its error as Lambda reports them. Never raises."""
    route = ROUTES.get(function.name)
    if route is None:
        message = f"no local source for function {function.name!r} (not deployed by the local cloud)"
        return InvocationOutcome(
            json.dumps({"errorMessage": message, "errorType": "LocalRouteNotFound"}), True, message
        )
    context = LambdaContext(
        function_name=function.name,
        memory_limit_in_mb=function.memory_size,
        invoked_function_arn=function.arn,
        function_version=function.version,
        aws_request_id=request_id,
        timeout_seconds=function.timeout,
    )
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "_HANDLER": route.handler,
        **function.environment,
        **LOCAL_ENVIRONMENT,
        **_CLOUD_ENVIRONMENT,
    }
    try:
        result = invoke(route, event, context, environment)
        return InvocationOutcome(json.dumps(result), False, "")
    except Exception as exc:
        return InvocationOutcome(
            _error_payload(exc, request_id), True, "".join(traceback.format_exception(exc))
        )
