"""Deploys infra/template.yaml onto moto's CloudFormation, then fills the gaps moto leaves (DESIGN.md)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import routing
from .template import function_sources, load_template, package, to_cloudformation

ARTIFACTS_BUCKET = "listguard-local-artifacts"
ClientFactory = Callable[[str], Any]
"""Makes a boto3 client for a service name (in-process mocked, or pointed at the local server)."""


class LocalCloudError(Exception):
    """The local cloud could not start; the message says what failed and why."""


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
    resolver = _StackResolver(stack["StackId"], region)

    _apply_bucket_notifications(client("s3"), template, physical_ids, resolver)
    _register_state_machines(client("stepfunctions"), template, physical_ids, resolver)
    for source in function_sources(sam_template, root):
        routing.ROUTES[physical_ids[source.logical_id]] = routing.HandlerRoute(
            source.code_dir, source.handler
        )

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return DeployedStack(stack_name, outputs, physical_ids)


def _create_stack(
    cloudformation: Any, stack_name: str, template: dict[str, Any], region: str
) -> dict[str, Any]:
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except Exception as exc:
        failing = _resource_moto_could_not_create(stack_name, region)
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


def _resource_moto_could_not_create(stack_name: str, region: str) -> str:
    """Names the resource that broke the deploy.

    moto's CloudFormation creates resources synchronously inside CreateStack and lets a resource's
    exception escape (no CREATE_FAILED event), so the failing resource is the first one, in moto's
    creation order, that it has not created (moto internals; moto is pinned exactly).
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


class _StackResolver:
    """Resolves CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Join) against the deployed stack.

    Uses moto's own resolver on the stack's resource map (moto internals; moto is pinned exactly):
    the local cloud runs in the same process as moto in both modes, in-process and server.
    """

    def __init__(self, stack_id: str, region: str) -> None:
        from moto.cloudformation.models import cloudformation_backends

        account_id = stack_id.split(":")[4]
        self._resource_map = cloudformation_backends[account_id][region].stacks[stack_id].resource_map

    def resolve(self, value: Any) -> Any:
        from moto.cloudformation.parsing import clean_json

        return clean_json(value, self._resource_map)


def _apply_bucket_notifications(
    s3: Any, template: dict[str, Any], physical_ids: dict[str, str], resolver: _StackResolver
) -> None:
    """moto's CloudFormation leaves NotificationConfiguration empty (DESIGN.md): apply it through the API."""
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
                    api_target_key: resolver.resolve(entry[target_key]),
                    "Events": [entry["Event"]],
                }
                rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
                if rules:
                    api_entry["Filter"] = {"Key": {"FilterRules": resolver.resolve(rules)}}
                configuration.setdefault(api_key, []).append(api_entry)
        s3.put_bucket_notification_configuration(
            Bucket=physical_ids[logical_id], NotificationConfiguration=configuration
        )


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


def _substitute(definition: str, substitutions: dict[str, str]) -> str:
    """Fills ``${Name}`` placeholders as DefinitionSubstitutions do; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda match: substitutions.get(match.group(1), match.group(0)), definition)


def _register_state_machines(
    sfn: Any, template: dict[str, Any], physical_ids: dict[str, str], resolver: _StackResolver
) -> None:
    """Registers the stack's state machines again through the Step Functions API.

    With execute_state_machine on, moto answers the Step Functions API from a second backend, while
    its CloudFormation created the state machines in the first one (StartExecution then fails with
    StateMachineDoesNotExist; DESIGN.md). moto's CloudFormation also ignores DefinitionSubstitutions,
    so they are resolved here against the deployed stack. Same name, hence the same ARN.
    """
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        properties = resource["Properties"]
        if "DefinitionString" in properties:
            definition = str(resolver.resolve(properties["DefinitionString"]))
        else:
            definition = json.dumps(resolver.resolve(properties["Definition"]))
        substitutions = {
            name: str(resolver.resolve(value))
            for name, value in properties.get("DefinitionSubstitutions", {}).items()
        }
        definition = _substitute(definition, substitutions)
        name = physical_ids[logical_id].rsplit(":", 1)[-1]
        sfn.create_state_machine(
            name=name, definition=definition, roleArn=str(resolver.resolve(properties["RoleArn"]))
        )
