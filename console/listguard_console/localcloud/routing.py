"""Runs every Lambda invocation on the local cloud as the real handler module, in this process.

moto runs Lambda code in Docker, which these machines do not have. Every invocation (``lambda:Invoke``,
S3 notifications, SNS subscriptions, Step Functions tasks) goes through one private method,
``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload_json, errored, logs)``
(moto is pinned exactly, and tests/e2e/test_local_cloud_routing.py covers the hook). We replace it
with a call into the handler's source file, found through ``ROUTES``.
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
# so tracing is off; the demo quietens the functions' logs here too.
LOCAL_ENVIRONMENT: dict[str, str] = {"POWERTOOLS_TRACE_DISABLED": "true"}


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


def _error_payload(exc: BaseException) -> str:
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    )


def _invoke_lambda_in_process(function: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for ``LambdaFunction._invoke_lambda``: never raises into moto."""
    route = ROUTES.get(function.function_name)
    if route is None:
        message = f"no local source for function {function.function_name!r} (not deployed by the local cloud)"
        return json.dumps({"errorMessage": message, "errorType": "LocalRouteNotFound"}), True, message
    # moto passes the already-parsed body, or the string "{}" when the request had no payload.
    if event is None or event == "{}":
        event = {}
    context = LambdaContext(
        function_name=function.function_name,
        memory_limit_in_mb=int(function.memory_size),
        invoked_function_arn=function.function_arn,
        function_version=str(function.version),
        timeout_seconds=float(function.timeout),
    )
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "_HANDLER": route.handler,
        **{name: str(value) for name, value in (function.environment_vars or {}).items()},
        **LOCAL_ENVIRONMENT,
    }
    try:
        result = invoke(route, event, context, environment)
        return json.dumps(result), False, ""
    except Exception as exc:
        return _error_payload(exc), True, "".join(traceback.format_exception(exc))


def install() -> None:
    """Routes moto's Lambda invocations in-process. Idempotent."""
    from moto.awslambda.models import LambdaFunction

    if getattr(LambdaFunction._invoke_lambda, "__name__", "") == _invoke_lambda_in_process.__name__:
        return
    LambdaFunction._invoke_lambda = _invoke_lambda_in_process  # type: ignore[method-assign,assignment]
