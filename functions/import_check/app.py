"""import_check: an import file landed in S3 -> verification check, contacts, reports, flag event."""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.flows.imports import ImportedObject, check_imports

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    # S3's s3:TestEvent (sent when notifications are configured) has no Records.
    objects = [
        ImportedObject(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.get_object.key),  # keys arrive URL-encoded ("+" is a space)
            etag=record.s3.get_object.etag.strip('"'),
        )
        for record in (event.records if "Records" in event else [])
        if record.event_name.startswith("ObjectCreated")
    ]
    # The request id is the claimant: Lambda retries an async event with the same id. A started check
    # holds its import for as long as this invocation can still run.
    lease_seconds = context.get_remaining_time_in_millis() // 1000 + 1
    results = check_imports(objects, request_id=context.aws_request_id, lease_seconds=lease_seconds)
    for result in results:
        # One metric set per file, with its status as a dimension (not a metric name built from it).
        metrics.add_dimension(name="status", value=str(result.status))
        metrics.add_metric(name="Imports", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ContactsWritten", unit=MetricUnit.Count, value=result.contacts_written)
        metrics.flush_metrics()
        metrics.clear_metrics()
    return {"results": [result.model_dump(mode="json") for result in results]}
