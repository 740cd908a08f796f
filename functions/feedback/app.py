"""feedback: SES bounce, complaint, open and click events (through the feedback topic) -> blocklist,
ledger, the campaign's rates, the contacts' engagement."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.flows.campaigns.feedback import parse_notification
from listguard.flows.campaigns.services import feedback_recorder

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> dict[str, Any]:
    recorder = feedback_recorder()
    results = []
    for record in event.records:
        notification = parse_notification(record.sns.message)
        if notification is None:
            logger.info("not an SES event; ignored", extra={"sns_message_id": record.sns.message_id})
            results.append({"sns_message_id": record.sns.message_id, "ignored": ["not an SES event"]})
            continue
        # Raises on AWS errors: Lambda retries the whole event, and every write is idempotent.
        tally = recorder.record(notification)
        metrics.add_metric(name="FeedbackRecorded", unit=MetricUnit.Count, value=tally.recorded)
        metrics.add_metric(name="ContactsBlocklisted", unit=MetricUnit.Count, value=tally.blocklisted)
        results.append(
            {
                "sns_message_id": record.sns.message_id,
                "event": notification.kind,
                "campaign_id": notification.campaign_id,
                "blocklisted": tally.blocklisted,
                "recorded": tally.recorded,
                "repeated": tally.repeated,
                "engagement": tally.engagement,
                "ignored": tally.ignored,
            }
        )
    logger.info("feedback recorded", extra={"results": results})
    return {"results": results}
