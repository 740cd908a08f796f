"""The local cloud deploys the real template and routes every Lambda invocation to in-process Python."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from listguard_console.cli import app
from listguard_console.localcloud import ROUTES, HandlerRoute, LocalCloud, invocations, motocompat

pytestmark = pytest.mark.e2e

ECHO_HANDLER = """
import json
import os
from pathlib import Path


def lambda_handler(event, context):
    Path(__file__).with_name("invocations.jsonl").open("a").write(json.dumps(event) + "\\n")
    return {
        "event": event,
        "table_name": os.environ["TABLE_NAME"],
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
        "pid": os.getpid(),
    }
"""

FAILING_HANDLER = """
def lambda_handler(event, context):
    raise ValueError("the file is not a CSV")
"""


def route_to(tmp_path: Path, source: str, function_name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points the routing of ``function_name`` at a handler written into tmp_path."""
    (tmp_path / "app.py").write_text(source)
    monkeypatch.setitem(ROUTES, function_name, HandlerRoute(tmp_path, "app.lambda_handler"))
    return tmp_path / "invocations.jsonl"


def test_lambda_invoke_runs_the_handler_in_this_process(local_cloud, tmp_path, monkeypatch):
    # Given the import check function routed to an echo handler
    function_name = local_cloud.outputs["ImportCheckFunctionName"]
    route_to(tmp_path, ECHO_HANDLER, function_name, monkeypatch)
    table_before = os.environ.get("TABLE_NAME")

    # When it is invoked through the Lambda API
    response = local_cloud.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps({"a": 1}))

    # Then the handler ran here, with the function's environment and a Lambda context
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result == {
        "event": {"a": 1},
        "table_name": local_cloud.outputs["TableName"],
        "function_name": function_name,
        "memory_limit_in_mb": 2048,  # the template's MemorySize reaches the context
        "remaining_ms_positive": True,
        "pid": os.getpid(),
    }
    # and the environment is restored afterwards
    assert os.environ.get("TABLE_NAME") == table_before


def test_the_real_import_check_function_is_routed_to_its_source_directory(local_cloud):
    function_name = local_cloud.outputs["ImportCheckFunctionName"]
    route = ROUTES[function_name]
    assert route.code_dir == Path(__file__).resolve().parents[2] / "functions" / "import_check"
    assert route.handler == "app.lambda_handler"


def test_a_handler_exception_becomes_a_lambda_error_payload(local_cloud, tmp_path, monkeypatch):
    function_name = local_cloud.outputs["ImportCheckFunctionName"]
    route_to(tmp_path, FAILING_HANDLER, function_name, monkeypatch)

    response = local_cloud.client("lambda").invoke(FunctionName=function_name, Payload=b"{}")

    # Lambda's answer for an exception the handler raised
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the file is not a CSV"
    assert uuid.UUID(error["requestId"])  # the attempt's request id, as the Python runtime reports it


def test_a_function_without_local_source_errors_instead_of_crashing(local_cloud):
    lambda_client = local_cloud.client("lambda")
    role = local_cloud.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_client.create_function(
        FunctionName="unknown",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )

    response = lambda_client.invoke(FunctionName="unknown", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "LocalRouteNotFound"


def test_imports_bucket_notifies_the_import_check_function_under_imports_prefix(local_cloud):
    bucket = local_cloud.outputs["ImportsBucketName"]

    configuration = local_cloud.client("s3").get_bucket_notification_configuration(Bucket=bucket)

    [lambda_configuration] = configuration["LambdaFunctionConfigurations"]
    assert lambda_configuration["LambdaFunctionArn"].endswith(
        ":function:" + local_cloud.outputs["ImportCheckFunctionName"]
    )
    assert lambda_configuration["Events"] == ["s3:ObjectCreated:*"]
    assert lambda_configuration["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "imports/"}]


def test_an_upload_under_imports_invokes_the_function_and_others_do_not(local_cloud, tmp_path, monkeypatch):
    invocations = route_to(
        tmp_path, ECHO_HANDLER, local_cloud.outputs["ImportCheckFunctionName"], monkeypatch
    )
    s3 = local_cloud.client("s3")
    bucket = local_cloud.outputs["ImportsBucketName"]

    s3.put_object(Bucket=bucket, Key="reports/acme/imp-1.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="imports/acme/imp-1.csv", Body=b"email\na@example.com\n")

    [event] = [json.loads(line) for line in invocations.read_text().splitlines()]
    assert event["Records"][0]["s3"]["bucket"]["name"] == bucket
    # moto URL-encodes the key, "/" included
    assert event["Records"][0]["s3"]["object"]["key"] in (
        "imports/acme/imp-1.csv",
        "imports%2Facme%2Fimp-1.csv",
    )


def test_describe_stacks_returns_the_required_outputs(local_cloud):
    [stack] = local_cloud.client("cloudformation").describe_stacks(StackName="listguard")["Stacks"]

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["ImportsBucketName"] == local_cloud.outputs["ImportsBucketName"]
    assert outputs["TableName"] == local_cloud.outputs["TableName"]
    table = local_cloud.client("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {"gsi1", "gsi2"}


def test_installing_the_routing_twice_keeps_one_patch():
    from moto.awslambda.models import LambdaFunction
    from moto.s3 import notifications

    invocations.install()
    patched_invoke, patched_s3_caller = LambdaFunction.invoke, notifications._invoke_awslambda
    invocations.install()

    assert motocompat.lambda_invocations_are_routed()
    assert LambdaFunction.invoke is patched_invoke
    assert notifications._invoke_awslambda is patched_s3_caller


def test_server_mode_deploys_and_answers_through_the_endpoint(free_port, tmp_path, monkeypatch):
    # Given the local cloud served on a free port
    with LocalCloud.serve(port=free_port) as cloud:
        endpoint_url = f"http://127.0.0.1:{free_port}"
        assert cloud.endpoint_url == endpoint_url
        # the Step Functions interpreter calls Lambda back on this port
        assert os.environ["MOTO_PORT"] == str(free_port)

        # When another client asks through the endpoint
        client_options = {"endpoint_url": endpoint_url, "region_name": "us-east-1"}
        [stack] = boto3.client("cloudformation", **client_options).describe_stacks(StackName="listguard")[
            "Stacks"
        ]

        # Then the stack is there with its outputs
        assert {o["OutputKey"] for o in stack["Outputs"]} >= {"ImportsBucketName", "TableName"}
        # and Lambda invocations through HTTP still run in-process
        function_name = cloud.outputs["ImportCheckFunctionName"]
        route_to(tmp_path, ECHO_HANDLER, function_name, monkeypatch)
        response = boto3.client("lambda", **client_options).invoke(FunctionName=function_name, Payload=b"{}")
        assert json.loads(response["Payload"].read())["pid"] == os.getpid()
        # and the console reads the outputs of the running cloud
        result = CliRunner().invoke(app, ["local", "outputs", "--endpoint-url", endpoint_url, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["outputs"] == cloud.outputs


def test_serve_on_a_busy_port_fails_with_one_error_line(free_port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", free_port))
        busy.listen()

        result = CliRunner().invoke(app, ["local", "serve", "--port", str(free_port)])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: port")
    assert "Traceback" not in result.output


def test_serve_opens_the_port_only_once_the_stack_is_wired(free_port):
    # Given a client that asks as soon as the port accepts a connection
    endpoint_url = f"http://127.0.0.1:{free_port}"
    first_answer: dict[str, object] = {}

    def ask_as_soon_as_the_port_opens() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", free_port), timeout=0.05).close()
            except OSError:
                time.sleep(0.005)
                continue
            options = {"endpoint_url": endpoint_url, "region_name": "us-east-1"}
            [stack] = boto3.client("cloudformation", **options).describe_stacks(StackName="listguard")[
                "Stacks"
            ]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
            first_answer["status"] = stack["StackStatus"]
            first_answer["notifications"] = boto3.client(
                "s3", **options
            ).get_bucket_notification_configuration(Bucket=outputs["ImportsBucketName"])[
                "LambdaFunctionConfigurations"
            ]
            first_answer["routed"] = outputs["ImportCheckFunctionName"] in ROUTES
            return

    client = threading.Thread(target=ask_as_soon_as_the_port_opens)
    client.start()
    # When the local cloud starts serving
    with LocalCloud.serve(port=free_port):
        client.join()
    # Then its very first answer already shows the whole stack: created, notifying, routed
    assert first_answer["status"] == "CREATE_COMPLETE"
    assert first_answer["notifications"]
    assert first_answer["routed"] is True
    # and the port is free again once it stopped (nothing listens; the client's closed connections may
    # still linger in TIME_WAIT, which a server binding with SO_REUSEADDR, as werkzeug does, ignores)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", free_port))


def test_the_environment_given_to_start_reaches_every_function_only_while_the_cloud_runs(
    tmp_path, monkeypatch
):
    # Given a local cloud started with variables of its own
    with LocalCloud.start(environment={"LISTGUARD_LOCAL_MARKER": "on", "TABLE_NAME": "overridden"}) as cloud:
        function_name = cloud.outputs["ImportCheckFunctionName"]
        route_to(tmp_path, ENVIRONMENT_HANDLER, function_name, monkeypatch)
        # When a function runs
        seen = json.loads(cloud.client("lambda").invoke(FunctionName=function_name)["Payload"].read())
    # Then it sees them over its own environment, and the local defaults still apply
    assert seen == {
        "LISTGUARD_LOCAL_MARKER": "on",
        "TABLE_NAME": "overridden",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }

    # And a cloud started afterwards without them runs its functions with their own environment
    with LocalCloud.start() as cloud:
        function_name = cloud.outputs["ImportCheckFunctionName"]
        route_to(tmp_path, ENVIRONMENT_HANDLER, function_name, monkeypatch)
        seen = json.loads(cloud.client("lambda").invoke(FunctionName=function_name)["Payload"].read())
    assert seen["LISTGUARD_LOCAL_MARKER"] is None
    assert seen["TABLE_NAME"] == cloud.outputs["TableName"]


ENVIRONMENT_HANDLER = """
import os


def lambda_handler(event, context):
    names = ("LISTGUARD_LOCAL_MARKER", "TABLE_NAME", "POWERTOOLS_TRACE_DISABLED")
    return {name: os.environ.get(name) for name in names}
"""


def test_the_exports_bucket_keeps_an_overwritten_export_and_the_table_has_point_in_time_recovery(local_cloud):
    # moto's CloudFormation ignores both properties: the local cloud applies them through the APIs
    s3, exports = local_cloud.client("s3"), local_cloud.outputs["ExportsBucketName"]
    s3.put_object(Bucket=exports, Key="exports/acme/declined.csv", Body=b"first")
    s3.put_object(Bucket=exports, Key="exports/acme/declined.csv", Body=b"second")

    versions = s3.list_object_versions(Bucket=exports, Prefix="exports/acme/")["Versions"]

    assert len(versions) == 2
    backups = local_cloud.client("dynamodb").describe_continuous_backups(
        TableName=local_cloud.outputs["TableName"]
    )
    assert backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
        "PointInTimeRecoveryStatus"
    ] == ("ENABLED")
