"""import_steps: the tasks of the import state machine. Each state passes ``step`` and the import."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.aws import aws_errors_are_retryable
from listguard.flows.imports.lifecycle import ImportRef, Lifecycle, lifecycle_from_settings

logger = Logger()
tracer = Tracer()

Step = Callable[[Lifecycle, ImportRef, dict[str, Any]], Any]

# One state, one stage of the lifecycle.
STEPS: dict[str, Step] = {
    "await_confirmation": lambda life, ref, event: life.await_confirmation(
        ref, event["token"], int(event["timeout_seconds"])
    ),
    "confirmation_timed_out": lambda life, ref, event: life.confirmation_timed_out(ref),
    "apply_chunk": lambda life, ref, event: life.apply_chunk(
        ref, int(event["chunk"]), lease_seconds=int(event["lease_seconds"])
    ),
    "finish": lambda life, ref, event: life.finish(ref),
    "await_review": lambda life, ref, event: life.await_review(ref, event["token"]),
    "apply_review": lambda life, ref, event: life.apply_review(
        ref, event["review"]["decision"], event["review"].get("note", "")
    ),
    "fail": lambda life, ref, event: life.fail(ref, str(event.get("error") or "unknown error")),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@aws_errors_are_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = STEPS[event["step"]]
    logger.append_keys(step=event["step"], import_id=event["import"]["import_id"])
    # A step that takes the account's lane holds it for as long as this invocation can still run.
    event = {**event, "lease_seconds": context.get_remaining_time_in_millis() // 1000 + 1}
    # ImportSupersededError and LifecycleError propagate: the state machine catches them by name;
    # AwsNoAnswerError and AwsServiceError (an AWS call without an answer, or refused) are retried by name.
    return step(lifecycle_from_settings(), ImportRef.of(event["import"]), event) or {}
