"""requeue: the scheduled job (EventBridge) -> paused campaigns that a remediation marked are sent to the
contacts who have not received them, once those are no longer flagged. `listguard campaigns requeue`
invokes this same function for one campaign."""

import time
import uuid
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.flows.campaigns.requeue import Requeue
from listguard.flows.campaigns.services import requeue_services
from listguard.flows.campaigns.steps import CampaignRef

logger = Logger()
tracer = Tracer()
metrics = Metrics()

#: The run stops sending this long before the function's timeout; the next run goes on.
SAFETY_MARGIN_SECONDS = 60


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The schedule sends EventBridge's "Scheduled Event" (every paused campaign); the console names one
    # campaign, and may bound the run (its caller waits for the answer).
    named = event.get("campaign")
    only = CampaignRef.of(named) if isinstance(named, dict) else None
    budget = context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    if "budget_seconds" in event:
        budget = min(budget, float(event["budget_seconds"]))
    deadline = time.monotonic() + max(budget, 1.0)
    # The ledger's attempt id is this invocation's own: Lambda retries an event with the same request id.
    reports = Requeue(requeue_services()).run(only=only, attempt=str(uuid.uuid4()), deadline=deadline)
    metrics.add_metric(name="RequeueSent", unit=MetricUnit.Count, value=sum(r.sent for r in reports))
    logger.info("requeue run", extra={"campaigns": len(reports), "sent": sum(r.sent for r in reports)})
    return {"campaigns": [report.model_dump(mode="json") for report in reports]}
