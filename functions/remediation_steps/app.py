"""remediation_steps: the remediation state machine's other tasks (each state passes ``step``)."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.aws import aws_errors_are_retryable
from listguard.flows.remediation import Services, StepRef, services_from_settings
from listguard.flows.remediation.confirm import await_confirmation, confirmation_timed_out
from listguard.flows.remediation.delete import delete, verify_export
from listguard.flows.remediation.lifecycle import begin, fail, finish
from listguard.flows.remediation.reimport import reimport, requeue

logger = Logger()
tracer = Tracer()

Step = Callable[[Services, StepRef, dict[str, Any]], Any]

STEPS: dict[str, Step] = {
    "begin": lambda services, ref, event: begin(services, ref),
    "await_confirmation": lambda services, ref, event: await_confirmation(services, ref, event["token"]),
    "confirmation_timed_out": lambda services, ref, event: confirmation_timed_out(services, ref),
    "verify_export": lambda services, ref, event: verify_export(services, ref),
    "delete": lambda services, ref, event: delete(services, ref),
    "reimport": lambda services, ref, event: reimport(services, ref),
    "requeue": lambda services, ref, event: requeue(services, ref),
    "finish": lambda services, ref, event: finish(services, ref),
    "fail": lambda services, ref, event: fail(
        services,
        ref,
        str((event.get("error") or {}).get("Error") or ""),
        str((event.get("error") or {}).get("Cause") or ""),
    ),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@aws_errors_are_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = STEPS[event["step"]]
    logger.append_keys(step=event["step"], remediation_id=event["remediation"]["remediation_id"])
    # RemediationError & co propagate: the state machine catches them by name.
    return step(services_from_settings(), StepRef.of(event["remediation"]), event) or {}
