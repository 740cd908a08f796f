"""The mocked AWS of a functional test and what tests say about it (the fixtures are in conftest).

Events are the ones moto itself sends: the bucket notifies an SQS queue (a public API), and the test
reads the event from it, URL-encoded key and all, before handing it to the handler.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from boto3.dynamodb.conditions import Key

ROOT = Path(__file__).resolve().parents[2]
TABLE = "listguard-test"
BUCKET = "listguard-imports-test"
CONTACT_ATTRIBUTES_READ = ("sk", "flag_status", "subscription_status", "gsi1pk", "gsi2pk", "verdict")


def load_handler(name: str) -> ModuleType:
    """``functions/<name>/app.py`` as a module (the folders are not packages, as in Lambda)."""
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "import_check"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:import_check"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class Cloud:
    """The mocked AWS of one test, and the things a test says about it."""

    s3: Any
    dynamodb: Any
    sqs: Any
    events_queue_url: str
    flag_queue_url: str
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]

    @property
    def table(self) -> Any:
        return self.dynamodb.Table(TABLE)

    def upload(self, key: str, body: bytes) -> dict[str, Any]:
        """Put an import file; return the S3 event that the upload produced."""
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        messages = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
        bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        for message in messages.get("Messages", []):
            self.sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
        events = [body for body in bodies if "Records" in body]
        assert len(events) == 1, f"expected one S3 event for {key!r}, got {bodies}"
        return events[0]

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        context = FakeLambdaContext(aws_request_id=request_id) if request_id else FakeLambdaContext()
        return self.handler(event, context)

    def items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = self.table.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda item: (item["pk"], item["sk"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def contacts(self, account: str, *, full: bool = False) -> dict[str, dict[str, Any]]:
        """The account's contacts by email key (base table). moto serialises every attribute of every
        item slowly (about 1 ms each), so by default only the attributes tests look at are read."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"ACCOUNT#{account}") & Key("sk").begins_with("CONTACT#"),
            "ConsistentRead": True,
        }
        if not full:
            kwargs["ProjectionExpression"] = ", ".join(CONTACT_ATTRIBUTES_READ)
        contacts: dict[str, dict[str, Any]] = {}
        while True:
            page = self.table.query(**kwargs)
            contacts.update((item["sk"].removeprefix("CONTACT#"), item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return contacts
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def import_record(self, account: str, import_id: str) -> dict[str, Any]:
        return self.table.get_item(Key={"pk": f"ACCOUNT#{account}", "sk": f"IMPORT#{import_id}"})["Item"]

    def objects(self) -> dict[str, bytes]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: self.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing}

    def read(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body

    def flag_events(self) -> list[dict[str, Any]]:
        """SNS notifications received by the topic's SQS subscriber (drained)."""
        received: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(QueueUrl=self.flag_queue_url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in messages:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.flag_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received


def create_table(dynamodb: Any) -> None:
    """The single table as the template declares it: pk/sk, gsi1 (by flag), gsi2 (by import)."""
    attributes = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{index}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in ("gsi1", "gsi2")
        ],
    )
