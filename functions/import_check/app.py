"""import_check: an import file landed in S3 -> verification check, contacts, reports, flag event."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.imports import check_imports

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    # The request id is the claimant of the import: Lambda retries an async event with the same id.
    results = check_imports(event.raw_event, request_id=context.aws_request_id)
    for result in results:
        metrics.add_metric(name=f"Imports_{result.status}", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ContactsWritten", unit=MetricUnit.Count, value=result.contacts_written)
    return {"results": [result.model_dump(mode="json") for result in results]}
