"""The local cloud re-registers a template's state machines so that moto can execute them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from listguard_console.localcloud import LocalCloud, LocalCloudError

pytestmark = pytest.mark.e2e

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  GreetFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/greet/
      Handler: app.lambda_handler
      Runtime: python3.12
  GreetingStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: infra/statemachines/greeting.asl.json
      DefinitionSubstitutions:
        GreetFunctionArn: !GetAtt GreetFunction.Arn
        TableName: !Ref Table
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref GreetFunction
Outputs:
  GreetingStateMachineArn:
    Value: !Ref GreetingStateMachine
"""

ASL = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "${GreetFunctionArn}",
                "Payload": {"name.$": "$.name", "table": "${TableName}"},
            },
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}

HANDLER = """
def lambda_handler(event, context):
    return {"greeting": "hello " + event["name"], "table": event["table"]}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "infra" / "statemachines").mkdir(parents=True)
    (tmp_path / "infra" / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "infra" / "statemachines" / "greeting.asl.json").write_text(json.dumps(ASL))
    (tmp_path / "functions" / "greet").mkdir(parents=True)
    (tmp_path / "functions" / "greet" / "app.py").write_text(HANDLER)
    return tmp_path


def test_a_state_machine_of_the_template_executes_with_its_substitutions(root):
    with LocalCloud.start(root=root) as cloud:
        sfn = cloud.client("stepfunctions")
        arn = cloud.outputs["GreetingStateMachineArn"]

        execution_arn = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"name": "ada"}))[
            "executionArn"
        ]

        deadline = time.monotonic() + 20
        while (execution := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution still running"
            time.sleep(0.1)
        assert execution["status"] == "SUCCEEDED", execution
        table_name = cloud.physical_ids["Table"]
        assert json.loads(execution["output"]) == {"greeting": "hello ada", "table": table_name}


BROKEN_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic:
    Type: AWS::SNS::Topic
  BrokenTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: not_defined, KeyType: HASH}]
"""


def test_a_failed_deploy_names_the_failing_resource(tmp_path):
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "template.yaml").write_text(BROKEN_TEMPLATE)

    failure = r"resource BrokenTable \(AWS::DynamoDB::Table\) failed"
    with pytest.raises(LocalCloudError, match=failure), LocalCloud.start(root=tmp_path):
        pass


FAILING_HANDLER = """
from pathlib import Path


def lambda_handler(event, context):
    with Path(__file__).with_name("attempts.log").open("a") as log:
        log.write(context.aws_request_id + "\\n")
    raise RuntimeError("no greeting today")
"""


def test_a_task_invokes_its_function_synchronously_once_and_the_execution_fails(root):
    # Given a state machine whose task function fails (the task declares no Retry)
    (root / "functions" / "greet" / "app.py").write_text(FAILING_HANDLER)
    with LocalCloud.start(root=root) as cloud:
        sfn = cloud.client("stepfunctions")
        arn = cloud.outputs["GreetingStateMachineArn"]

        # When it runs
        execution_arn = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"name": "ada"}))[
            "executionArn"
        ]
        deadline = time.monotonic() + 20
        while (execution := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution still running"
            time.sleep(0.1)

    # Then the execution fails on the function's error, after one attempt: Lambda does not retry a
    # synchronous invocation (Step Functions retries only what the task's Retry says)
    assert execution["status"] == "FAILED", execution
    assert (root / "functions" / "greet" / "attempts.log").read_text().count("\n") == 1
