"""Steps of the import state machine when an AWS call fails (found by the chaos sweep).

- A call without an answer (after the SDK's retries) failed the step with one of botocore's connection
  errors, which the state machine did not retry: the import was marked failed, or (when the step had
  already moved it) stayed validated with the customer never told.
- A throttled read of the summary was taken for a missing summary: the summary kept saying
  ``verifying`` for good.
- A refused call failed the step with botocore's class for that error (``SlowDown``,
  ``ProvisionedThroughputExceededException``, ...), whose name no ``Retry`` listed but ``ClientError``'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from functional_cloud import ACCOUNT, BUCKET, CUSTOMER, Cloud, lifecycle_of
from test_import_check import contacts_csv, import_key, only_result

from listguard.aws import AwsNoAnswerError, AwsServiceError, aws_clients, aws_errors_are_retryable

pytestmark = pytest.mark.usefixtures("small_check_policy")

STATE_MACHINES = Path(__file__).parents[2] / "infra" / "statemachines"


@pytest.mark.parametrize(
    "error", [ReadTimeoutError(endpoint_url="https://s3"), EndpointConnectionError(endpoint_url="https://s3")]
)
def test_a_call_without_an_answer_fails_the_step_with_the_name_its_state_machine_retries(
    error: Exception,
) -> None:
    @aws_errors_are_retryable
    def step() -> None:
        raise error

    with pytest.raises(AwsNoAnswerError):
        step()


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem"),
        # A modeled error is a class of its own (botocore makes one per error shape), and Lambda would
        # report that class's name, which no Retry listed
        type("ProvisionedThroughputExceededException", (ClientError,), {})(
            {"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"
        ),
    ],
)
def test_a_refused_call_fails_the_step_with_the_name_its_state_machine_retries(error: Exception) -> None:
    @aws_errors_are_retryable
    def step() -> None:
        raise error

    with pytest.raises(AwsServiceError, match=r"refused \((ThrottlingException|ProvisionedThroughput)"):
        step()


def test_every_task_of_every_state_machine_retries_a_failed_aws_call() -> None:
    for path in sorted(STATE_MACHINES.glob("*.asl.json")):
        for name, state in _states(json.loads(path.read_text())):
            if state.get("Type") != "Task":
                continue
            retried = {error for retry in state.get("Retry", []) for error in retry["ErrorEquals"]}
            missing = {"AwsNoAnswerError", "AwsServiceError"} - retried
            assert not missing, f"{path.name}: {name} does not retry {missing}"


def _states(machine: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, state in machine.get("States", {}).items():
        found.append((name, state))
        for nested in [state.get("Iterator"), state.get("ItemProcessor"), *state.get("Branches", [])]:
            if nested:
                found += _states(nested)
    return found


def test_a_throttled_read_of_the_summary_fails_the_step_so_that_its_retry_updates_it(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a checked import whose contacts are written, and S3 throttling the summary's read once
    cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-11-30T00:00:00+00:00")
    body = contacts_csv(150)
    assert only_result(cloud.invoke(cloud.upload(import_key("leads"), body)))["status"] == "verifying"
    cloud.step("await_confirmation", "leads", token="token-1", timeout_seconds=3600)
    lifecycle_of(cloud).confirm(ACCOUNT, "leads")
    cloud.step("apply_chunk", "leads", chunk=0)
    s3 = aws_clients().s3
    get_object = s3.get_object
    throttled: list[str] = []

    def throttle_once(**kwargs: Any) -> Any:
        if not throttled and kwargs["Key"].endswith(".json"):
            throttled.append(kwargs["Key"])
            raise ClientError({"Error": {"Code": "SlowDown"}}, "GetObject")
        return get_object(**kwargs)

    monkeypatch.setattr(s3, "get_object", throttle_once)

    # When the finish step runs (and fails), then runs again (its retry)
    with pytest.raises(AwsServiceError):
        cloud.step("finish", "leads")
    cloud.step("finish", "leads")

    # Then the summary says where the import rests
    summary = json.loads(cloud.s3.get_object(Bucket=BUCKET, Key="reports/acme/leads.json")["Body"].read())
    assert summary["status"] == "validated"
