"""infra/template.yaml: valid for cfn-lint and the SAM transform, and wired the way the code expects."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from listguard_console.localcloud.template import load_template, package, to_cloudformation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"


@pytest.fixture(scope="module")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def cloudformation(sam_template) -> dict[str, Any]:
    """The template as the local cloud deploys it: packaged to S3 locations, then transformed."""
    uploaded: dict[str, bytes] = {}
    packaged = package(sam_template, ROOT, "artifacts", uploaded.__setitem__)
    assert set(uploaded) and all(key.endswith(".zip") for key in uploaded)
    return to_cloudformation(packaged, "us-east-1")


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_cfn_lint_finds_nothing():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sam_transform_produces_the_expected_resources(cloudformation):
    types = {resource["Type"] for resource in cloudformation["Resources"].values()}
    assert {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::IAM::Role",
    } <= types


def test_uploads_to_imports_prefix_trigger_the_import_check_function(cloudformation):
    bucket = cloudformation["Resources"]["ImportsBucket"]

    [trigger] = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]

    assert trigger["Event"] == "s3:ObjectCreated:*"
    assert trigger["Function"] == {"Fn::GetAtt": ["ImportCheckFunction", "Arn"]}
    assert trigger["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "imports/"}]


def test_the_function_policy_names_the_imports_bucket_without_a_ref(cloudformation, sam_template):
    # A !Ref ImportsBucket in the policy would close the cycle bucket -> permission -> function -> role.
    role = cloudformation["Resources"]["ImportCheckFunctionRole"]
    assert "ImportsBucket" not in str(role)
    bucket_name = sam_template["Resources"]["ImportsBucket"]["Properties"]["BucketName"]
    assert bucket_name == {"Fn::Sub": "${AWS::StackName}-imports-${AWS::AccountId}-${AWS::Region}"}
    assert str(bucket_name) in str(role)


def test_import_check_function_configuration(cloudformation):
    function = cloudformation["Resources"]["ImportCheckFunction"]["Properties"]

    assert function["Handler"] == "app.lambda_handler"
    assert function["Runtime"] == "python3.12"
    assert function["Timeout"] == 900
    assert function["MemorySize"] >= 1024
    assert function["EphemeralStorage"] == {"Size": 2048}
    assert function["Layers"] == [
        {"Ref": next(iter(resources_of_type(cloudformation, "AWS::Lambda::LayerVersion")))}
    ]
    assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "Table"}
    assert function["Environment"]["Variables"]["IMPORT_STATE_MACHINE_ARN"] == {"Ref": "ImportStateMachine"}


def test_every_function_has_powertools_logger_tracer_and_metrics(cloudformation):
    functions = resources_of_type(cloudformation, "AWS::Lambda::Function")
    assert functions
    for function in functions.values():
        properties = function["Properties"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        variables = properties["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == "listguard"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Listguard"
        assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_the_single_table_has_the_keys_and_indexes_the_repository_uses(cloudformation):
    table = cloudformation["Resources"]["Table"]["Properties"]

    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    for name in ("gsi1", "gsi2"):
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}


def test_the_core_layer_is_built_from_layers_core(sam_template):
    layer = sam_template["Resources"]["CoreLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/core"
    assert layer["Metadata"]["BuildMethod"] == "python3.12"


def test_outputs(cloudformation):
    assert {
        "ImportsBucketName",
        "TableName",
        "ExportsBucketName",
        "FlagTopicArn",
        "ImportCheckFunctionName",
        "ImportFailuresQueueUrl",
        "ImportFailuresQueueArn",
    } <= set(cloudformation["Outputs"])


def test_every_threshold_of_the_policy_is_a_stack_parameter(sam_template):
    # Given the policy's settings (each read from LISTGUARD_<NAME>)
    from listguard.verification import Policy

    environment = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    # Then every function gets each one from a parameter whose default is the policy's own
    for name, field in Policy.model_fields.items():
        value = environment[f"LISTGUARD_{name.upper()}"]
        parameter = sam_template["Parameters"][value["Ref"]]
        assert float(parameter["Default"]) == float(field.default), name


def test_customers_data_survives_a_bad_write_an_overwrite_and_a_disk(cloudformation):
    resources = cloudformation["Resources"]
    # The table can be restored to any second of the last 35 days
    table = resources["Table"]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # An export (the customer's only copy before a delete) keeps its old versions, for 30 days
    exports = resources["ExportsBucket"]["Properties"]
    assert exports["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = exports["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    # Flag events and failed imports are encrypted at rest
    assert resources["FlagTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    assert resources["ImportFailuresQueue"]["Properties"]["SqsManagedSseEnabled"] is True


def test_an_import_check_that_fails_every_retry_goes_to_the_failures_queue(cloudformation):
    resources = cloudformation["Resources"]
    [config] = [
        config
        for config in resources_of_type(cloudformation, "AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": "ImportCheckFunction"}
    ]

    assert config["Properties"]["FunctionName"] == {"Ref": "ImportCheckFunction"}
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    queue_arn = {"Fn::GetAtt": ["ImportFailuresQueue", "Arn"]}
    assert config["Properties"]["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn}}
    # and the function's role may send there (Lambda delivers the record with it)
    statements = [
        statement
        for policy in resources["ImportCheckFunctionRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": queue_arn} in statements
    assert {"ImportFailuresQueueUrl", "ImportFailuresQueueArn"} <= set(cloudformation["Outputs"])


def test_the_function_may_use_the_topics_key_only_through_sns(cloudformation):
    statements = [
        statement
        for policy in cloudformation["Resources"]["ImportStepsFunctionRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]

    [kms] = [s for s in statements if any(str(a).startswith("kms:") for a in s["Action"])]

    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}}
    }


def test_every_check_that_checkov_skips_says_why(sam_template):
    skips = [
        (logical_id, skip)
        for logical_id, resource in sam_template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (logical_id, skip)
        assert len(skip.get("comment", "").split()) >= 10, f"{logical_id} skips {skip['id']} without a reason"
    # the data-protection checks are fixed, never skipped
    skipped = {skip["id"] for _, skip in skips}
    assert not skipped & {"CKV_AWS_28", "CKV_AWS_26"}  # point-in-time recovery, topic encryption
    assert ("ExportsBucket", "CKV_AWS_21") not in {(logical_id, skip["id"]) for logical_id, skip in skips}


def test_every_placeholder_of_a_state_machine_has_a_substitution(sam_template):
    machines = resources_of_type(sam_template, "AWS::Serverless::StateMachine")
    assert machines
    for logical_id, machine in machines.items():
        properties = machine["Properties"]
        definition = (TEMPLATE.parent / properties["DefinitionUri"]).read_text()
        placeholders = set(re.findall(r"\$\{(\w+)\}", definition))
        assert placeholders == set(properties.get("DefinitionSubstitutions", {})), logical_id


def test_every_state_machine_may_invoke_the_functions_its_states_call(sam_template):
    for logical_id, machine in resources_of_type(sam_template, "AWS::Serverless::StateMachine").items():
        properties = machine["Properties"]
        definition = json.loads((TEMPLATE.parent / properties["DefinitionUri"]).read_text())
        called = {
            state["Parameters"]["FunctionName"]
            for state in _states(definition)
            if state.get("Type") == "Task" and state["Resource"].startswith("arn:aws:states:::lambda:invoke")
        }
        substitutions = properties["DefinitionSubstitutions"]
        functions = {substitutions[name[2:-1]]["Fn::GetAtt"][0] for name in called}
        invocable = {
            policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
            for policy in properties["Policies"]
            if isinstance(policy, dict) and "LambdaInvokePolicy" in policy
        }
        assert functions and functions <= invocable, logical_id


def _states(definition):
    for state in definition["States"].values():
        yield state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"])
        if "Iterator" in state:
            yield from _states(state["Iterator"])
