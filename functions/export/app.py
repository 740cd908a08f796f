"""export: the remediation's data steps. The segment (a chunk per invocation), the export and the clean."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.aws import aws_errors_are_retryable
from listguard.flows.remediation import Services, StepRef, services_from_settings
from listguard.flows.remediation.clean import clean
from listguard.flows.remediation.export import export
from listguard.flows.remediation.segment import segment

logger = Logger()
tracer = Tracer()

Step = Callable[[Services, StepRef, dict[str, Any], LambdaContext], Any]

STEPS: dict[str, Step] = {
    # The request id names the chunk this invocation writes: two invocations never overwrite each other's.
    "segment": lambda services, ref, event, context: segment(services, ref, writer=context.aws_request_id),
    "export": lambda services, ref, event, context: export(services, ref),
    "clean": lambda services, ref, event, context: clean(services, ref),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@aws_errors_are_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = STEPS[event["step"]]
    logger.append_keys(step=event["step"], remediation_id=event["remediation"]["remediation_id"])
    # RemediationError & co propagate: the state machine catches them by name.
    return step(services_from_settings(), StepRef.of(event["remediation"]), event, context) or {}
