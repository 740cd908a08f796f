"""campaign_steps: the tasks of the campaign state machine. Each state passes ``step`` and the campaign."""

import time
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.aws import aws_errors_are_retryable
from listguard.domain.vocabulary import SendPhase
from listguard.flows.campaigns.services import steps_services
from listguard.flows.campaigns.steps import CampaignRef, CampaignSteps

logger = Logger()
tracer = Tracer()

#: A loop step stops this long before the function's timeout; the next invocation goes on from there.
SAFETY_MARGIN_SECONDS = 60

Step = Callable[[CampaignSteps, CampaignRef, dict[str, Any], LambdaContext], Any]


def _new_attempt() -> str:
    """This invocation's own id for the ledger: never the request id, which Lambda reuses when it
    retries an event (only the attempt that claimed an entry, and never called SES for it, may send)."""
    return str(uuid.uuid4())


def _deadline(context: LambdaContext) -> float:
    left = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    return time.monotonic() + max(left, 1.0)


# One state, one stage of the campaign.
STEPS: dict[str, Step] = {
    "prepare": lambda steps, ref, event, context: steps.prepare(ref),
    "send": lambda steps, ref, event, context: steps.send(
        ref, SendPhase(event["phase"]), attempt=_new_attempt(), deadline=_deadline(context)
    ),
    "await_window": lambda steps, ref, event, context: steps.await_window(ref, event["token"]),
    "evaluate": lambda steps, ref, event, context: steps.evaluate(ref),
    "hold": lambda steps, ref, event, context: steps.hold(ref, deadline=_deadline(context)),
    "request_check": lambda steps, ref, event, context: steps.request_check(ref),
    "finish": lambda steps, ref, event, context: steps.finish(ref),
    "fail": lambda steps, ref, event, context: steps.fail(
        ref, str(event.get("error") or "unknown error"), event.get("cause")
    ),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@aws_errors_are_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    step = STEPS[event["step"]]
    logger.append_keys(step=event["step"], campaign_id=event["campaign"]["campaign_id"])
    # CampaignMovedError propagates: the state machine catches it by name and ends quietly.
    return step(CampaignSteps(steps_services()), CampaignRef.of(event["campaign"]), event, context) or {}
