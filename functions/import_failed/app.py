"""import_failed: import_check's on-failure destination (SQS) -> the import becomes ``failed``."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from listguard.flows.imports import DestinationRecord, record_failures

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    record_failures([DestinationRecord.model_validate_json(record.body)])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    # A record that fails (DynamoDB throttled) is reported back alone and delivered again by SQS.
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
