"""Deploys infra/template.yaml onto moto's CloudFormation, then fills the gaps moto's CloudFormation leaves.

What moto creates but does not configure is applied through the public APIs afterwards: the buckets'
notifications and versioning, the tables' point-in-time recovery, the functions' event invoke
configurations (retries and destinations), the state machines' registration, the topics' subscriptions,
and the routing of every function to its source directory.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import motocompat, routing
from .errors import LocalCloudError
from .template import function_sources, load_template, package, to_cloudformation

ARTIFACTS_BUCKET = "listguard-local-artifacts"
Resolver = Callable[[Any], Any]
"""Resolves CloudFormation intrinsics against the deployed stack."""
ClientFactory = Callable[[str], Any]
"""Makes a boto3 client for a service name (in-process mocked, or pointed at the local server)."""

__all__ = ["ARTIFACTS_BUCKET", "DeployedStack", "LocalCloudError", "deploy"]


@dataclass(frozen=True)
class DeployedStack:
    stack_name: str
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    """Logical id -> physical id of every resource of the stack."""


def deploy(root: Path, stack_name: str, client: ClientFactory, region: str) -> DeployedStack:
    """Packages, transforms and deploys the template, then applies what moto's CloudFormation skips."""
    sam_template = load_template(root / "infra" / "template.yaml")
    s3 = client("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    else:
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})

    def upload(key: str, body: bytes) -> None:
        s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=body)

    packaged = package(sam_template, root, ARTIFACTS_BUCKET, upload)
    try:
        template = to_cloudformation(packaged, region)
    except Exception as exc:  # samtranslator raises InvalidDocumentException & co with readable causes
        raise LocalCloudError(f"SAM transform of infra/template.yaml failed: {exc}") from exc

    stack = _create_stack(client("cloudformation"), stack_name, template, region)
    resources = client("cloudformation").list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    physical_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    resolve = motocompat.stack_resolver(stack["StackId"], region)

    _apply_bucket_notifications(client("s3"), template, physical_ids, resolve)
    _apply_data_protection(client("s3"), client("dynamodb"), template, physical_ids, resolve)
    _apply_event_invoke_configs(client("lambda"), template, resolve)
    _register_state_machines(client("stepfunctions"), template, physical_ids, resolve)
    _apply_sns_subscriptions(client("sns"), template, resolve)
    for source in function_sources(sam_template, root):
        routing.ROUTES[physical_ids[source.logical_id]] = routing.HandlerRoute(
            source.code_dir, source.handler
        )

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    _verify_notification_sender(client("sesv2"), outputs)
    return DeployedStack(stack_name, outputs, physical_ids)


def _verify_notification_sender(sesv2: Any, outputs: dict[str, str]) -> None:
    """moto's SES refuses an unverified sender and its CloudFormation has no SES resources: verify the
    sender's domain, as an operator does once in the SES console of a real account."""
    sender = outputs.get("NotificationSender")
    if sender:
        sesv2.create_email_identity(EmailIdentity=sender.rsplit("@", 1)[-1])


def _create_stack(
    cloudformation: Any, stack_name: str, template: dict[str, Any], region: str
) -> dict[str, Any]:
    # moto skips these with a warning; _apply_event_invoke_configs applies them afterwards.
    motocompat.silence_skipped_resource_warnings("AWS::Lambda::EventInvokeConfig")
    # And these: _apply_sns_subscriptions applies the subscriptions; the others have no local effect
    # (a topic policy and SES's configuration set: moto's SES accepts a set that does not exist).
    for skipped in (*SKIPPED_WITHOUT_LOCAL_EFFECT, "AWS::SNS::Subscription"):
        motocompat.silence_skipped_resource_warnings(skipped)
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except Exception as exc:
        failing = motocompat.resource_moto_could_not_create(stack_name, region)
        raise LocalCloudError(f"stack {stack_name} could not be created: {failing}: {exc!r}") from exc
    deadline = time.monotonic() + 60
    while True:
        stack: dict[str, Any] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise LocalCloudError(
                f"stack {stack_name} is {status}: {_first_failure(cloudformation, stack_name)}"
            )
        time.sleep(0.1)


def _first_failure(cloudformation: Any, stack_name: str) -> str:
    events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    for event in reversed(events):  # oldest first: the first failure caused the others
        if event.get("ResourceStatus", "").endswith("FAILED"):
            reason = event.get("ResourceStatusReason", "no reason given")
            return f"resource {event['LogicalResourceId']} {event['ResourceStatus']}: {reason}"
    return "no failed resource reported"


def _apply_bucket_notifications(
    s3: Any, template: dict[str, Any], physical_ids: dict[str, str], resolve: Resolver
) -> None:
    """moto's CloudFormation leaves NotificationConfiguration empty: apply it through the API."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        notifications = resource.get("Properties", {}).get("NotificationConfiguration")
        if not notifications:
            continue
        configuration: dict[str, list[dict[str, Any]]] = {}
        for cfn_key, api_key, target_key, api_target_key in (
            ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
            ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
            ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
        ):
            for entry in notifications.get(cfn_key, []):
                api_entry: dict[str, Any] = {
                    api_target_key: resolve(entry[target_key]),
                    "Events": [entry["Event"]],
                }
                rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
                if rules:
                    api_entry["Filter"] = {"Key": {"FilterRules": resolve(rules)}}
                configuration.setdefault(api_key, []).append(api_entry)
        s3.put_bucket_notification_configuration(
            Bucket=physical_ids[logical_id], NotificationConfiguration=configuration
        )


def _apply_data_protection(
    s3: Any, dynamodb: Any, template: dict[str, Any], physical_ids: dict[str, str], resolve: Resolver
) -> None:
    """moto's CloudFormation ignores a bucket's VersioningConfiguration and a table's point-in-time recovery:
    apply them through the API, so that an overwritten or deleted object keeps its old version locally too.
    (Lifecycle rules are left out: moto never expires an object.)
    """
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in ("AWS::S3::Bucket", "AWS::DynamoDB::Table"):
            continue
        properties = resolve(resource.get("Properties", {}))
        if resource["Type"] == "AWS::S3::Bucket" and "VersioningConfiguration" in properties:
            s3.put_bucket_versioning(
                Bucket=physical_ids[logical_id],
                VersioningConfiguration={"Status": properties["VersioningConfiguration"]["Status"]},
            )
        recovery = properties.get("PointInTimeRecoverySpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and recovery:
            enabled = str(recovery.get("PointInTimeRecoveryEnabled")).lower() == "true"
            dynamodb.update_continuous_backups(
                TableName=physical_ids[logical_id],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled},
            )


def _apply_event_invoke_configs(lambda_client: Any, template: dict[str, Any], resolve: Resolver) -> None:
    """moto's CloudFormation skips AWS::Lambda::EventInvokeConfig: put each through the Lambda API.

    The local cloud's Lambda service (invocations.py) reads them back from moto for every asynchronous
    invocation: how many retries, and where the destination record goes.
    """
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::EventInvokeConfig":
            continue
        properties = resolve(resource["Properties"])
        config = {
            name: properties[name]
            for name in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if name in properties
        }
        qualifier = properties.get("Qualifier", "$LATEST")
        lambda_client.put_function_event_invoke_config(
            FunctionName=properties["FunctionName"], Qualifier=qualifier, **config
        )


#: Resources moto's CloudFormation skips that change nothing the local cloud does.
SKIPPED_WITHOUT_LOCAL_EFFECT = (
    "AWS::SNS::TopicPolicy",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
)


def _apply_sns_subscriptions(sns: Any, template: dict[str, Any], resolve: Resolver) -> None:
    """moto's CloudFormation skips AWS::SNS::Subscription: subscribe each through the SNS API. A lambda
    subscription then invokes its function inside Publish (asynchronously: retries and destinations)."""
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::SNS::Subscription":
            continue
        properties = resolve(resource["Properties"])
        attributes = {
            name: json.dumps(properties[name])
            if isinstance(properties[name], dict)
            else str(properties[name])
            for name in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery")
            if name in properties
        }
        sns.subscribe(
            TopicArn=properties["TopicArn"],
            Protocol=properties["Protocol"],
            Endpoint=properties["Endpoint"],
            Attributes=attributes,
        )


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


def _substitute(definition: str, substitutions: dict[str, str]) -> str:
    """Fills ``${Name}`` placeholders as DefinitionSubstitutions do; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda match: substitutions.get(match.group(1), match.group(0)), definition)


def _register_state_machines(
    sfn: Any, template: dict[str, Any], physical_ids: dict[str, str], resolve: Resolver
) -> None:
    """Registers the stack's state machines again through the Step Functions API.

    With execute_state_machine on, moto answers the Step Functions API from a second backend, while
    its CloudFormation created the state machines in the first one (StartExecution then fails with
    StateMachineDoesNotExist). moto's CloudFormation also ignores DefinitionSubstitutions,
    so they are resolved here against the deployed stack. Same name, hence the same ARN.
    """
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        properties = resource["Properties"]
        if "DefinitionString" in properties:
            definition = str(resolve(properties["DefinitionString"]))
        else:
            definition = json.dumps(resolve(properties["Definition"]))
        substitutions = {
            name: str(resolve(value)) for name, value in properties.get("DefinitionSubstitutions", {}).items()
        }
        definition = _substitute(definition, substitutions)
        name = physical_ids[logical_id].rsplit(":", 1)[-1]
        sfn.create_state_machine(
            name=name, definition=definition, roleArn=str(resolve(properties["RoleArn"]))
        )
