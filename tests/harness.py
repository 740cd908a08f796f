"""One way for every test to run a function's handler and to build the template's table.

Functional tests (plain moto) and the local cloud (e2e) run a handler the same way: the local cloud's
routing loads ``functions/<name>/app.py`` as Lambda would and calls it with a Lambda context and the
function's environment. The table comes from infra/template.yaml itself, not from a copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from listguard_console.localcloud.routing import HandlerRoute, LambdaContext, invoke
from listguard_console.localcloud.template import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"


def run_handler(
    function: str,
    event: Any,
    *,
    environment: Mapping[str, str],
    request_id: str | None = None,
    timeout_seconds: float = 900.0,
) -> Any:
    """Calls ``functions/<function>/app.lambda_handler`` with a Lambda context (raises what it raises)."""
    context = LambdaContext(
        function_name=function,
        memory_limit_in_mb=2048,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        aws_request_id=request_id or str(uuid.uuid4()),
        timeout_seconds=timeout_seconds,
    )
    route = HandlerRoute(ROOT / "functions" / function, "app.lambda_handler")
    return invoke(route, event, context, environment)


@cache
def _table_properties() -> dict[str, Any]:
    properties: dict[str, Any] = load_template(TEMPLATE)["Resources"]["Table"]["Properties"]
    return properties


def create_table(dynamodb_client: Any, name: str) -> None:
    """The single table exactly as infra/template.yaml declares it (keys, indexes, billing)."""
    properties = _table_properties()
    dynamodb_client.create_table(
        TableName=name,
        **{
            key: properties[key]
            for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
            if key in properties
        },
    )
