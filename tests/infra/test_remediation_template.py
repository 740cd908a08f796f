"""The remediation in infra/template.yaml and its ASL: wired the way the code expects, and every error
the state machine names is one the code can raise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

import listguard.aws as aws
import listguard.flows.remediation.errors as remediation_errors
import listguard.stores.dynamo as dynamo
from listguard_console.localcloud.template import load_template

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "infra" / "statemachines" / "remediation.asl.json").read_text())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "infra" / "template.yaml")


def test_each_step_function_gets_the_table_both_buckets_and_the_time_to_finish_a_chunk(
    template: dict[str, Any],
) -> None:
    for name, code in (
        ("ExportFunction", "functions/export/"),
        ("RemediationStepsFunction", "functions/remediation_steps/"),
    ):
        function = template["Resources"][name]["Properties"]
        assert function["CodeUri"] == code
        assert function["Timeout"] == 900
        variables = function["Environment"]["Variables"]
        assert {
            "TABLE_NAME",
            "EXPORTS_BUCKET",
            "IMPORTS_BUCKET",
            "FLAG_TOPIC_ARN",
            "NOTIFICATION_SENDER",
        } <= set(variables)
    steps = template["Resources"]["RemediationStepsFunction"]["Properties"]["Environment"]["Variables"]
    assert steps["REMEDIATION_CONFIRMATION_TIMEOUT_SECONDS"] == {
        "Ref": "RemediationConfirmationTimeoutSeconds"
    }
    assert steps["REMEDIATION_LINK_SECONDS"] == {"Ref": "RemediationLinkSeconds"}
    assert template["Parameters"]["RemediationLinkSeconds"]["MaxValue"] == 604800  # SigV4's longest
    assert "RemediationStateMachineArn" in template["Outputs"]


def test_the_confirmation_waits_on_a_task_token_with_the_stacks_timeout() -> None:
    wait = ASL["States"]["AwaitDeleteConfirmation"]
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert wait["TimeoutSecondsPath"] == "$.begin.confirmation_timeout_seconds"
    assert wait["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": "$.timeout",
        "Next": "ConfirmationTimedOut",
    }


def test_every_task_retries_transient_errors_with_backoff_and_catches_the_rest() -> None:
    tasks = {name: state for name, state in ASL["States"].items() if state["Type"] == "Task"}
    for name, task in tasks.items():
        [retry] = task["Retry"]
        assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException", "AwsServiceError"} <= set(
            retry["ErrorEquals"]
        )
        assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] >= 3, name
        if name != "RecordFailure":
            assert task["Catch"][-1] == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": "RecordFailure",
            }


def test_every_error_the_state_machine_names_is_one_the_code_raises() -> None:
    named = {
        error
        for state in ASL["States"].values()
        for rule in state.get("Retry", []) + state.get("Catch", [])
        for error in rule["ErrorEquals"]
        if not error.startswith(("States.", "Lambda."))
    }
    raised = {
        name
        for module in (remediation_errors, dynamo, aws, botocore.exceptions)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert named and named <= raised, named - raised
