"""The mocked AWS of a functional test and what tests say about it (the fixtures are in conftest).

Events are the ones moto itself sends: the bucket notifies an SQS queue (a public API), and the test
reads the event from it, URL-encoded key and all, before handing it to the handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness import run_handler

from listguard.domain import FlagStatus, SubscriptionStatus
from listguard.domain.models import Contact, ImportRecord
from listguard.stores import AccountStore, ContactStore, ContactWrite, ImportStamp, ImportStore, Table
from listguard.stores.dynamo import deserialize
from listguard.verification import Verdict

TABLE = "listguard-test"
BUCKET = "listguard-imports-test"
ACCOUNT = "acme"


@dataclass
class Cloud:
    """The mocked AWS of one test, and the things a test says about it."""

    s3: Any
    dynamodb: Any  # the low-level client
    sqs: Any
    events_queue_url: str
    flag_queue_url: str
    environment: dict[str, str]

    @property
    def table(self) -> Table:
        return Table(self.dynamodb, TABLE)

    @property
    def contact_store(self) -> ContactStore:
        return ContactStore(self.table, threads=2)

    @property
    def import_store(self) -> ImportStore:
        return ImportStore(self.table)

    @property
    def account_store(self) -> AccountStore:
        return AccountStore(self.table, self.contact_store)

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

    def invoke(
        self, event: dict[str, Any], request_id: str | None = None, function: str = "import_check"
    ) -> Any:
        return run_handler(function, event, environment=self.environment, request_id=request_id)

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (to compare whole states)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": TABLE, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**kwargs)
            items.extend(deserialize(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda item: (item["pk"], item["sk"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def contacts(self, account: str = ACCOUNT) -> dict[str, Contact]:
        """The account's contacts by email key."""
        return {contact.email_key: contact for contact in self.contact_store.list(account)}

    def import_record(self, import_id: str, account: str = ACCOUNT) -> ImportRecord:
        record = self.import_store.get(account, import_id)
        assert record is not None, f"no import record {import_id!r}"
        return record

    def raw_item(self, pk: str, sk: str) -> dict[str, Any]:
        item = self.table.get({"pk": pk, "sk": sk})
        assert item is not None
        return item

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

    def seed(
        self,
        emails: Iterable[str],
        *,
        flag: FlagStatus = FlagStatus.NONE,
        import_id: str = "older",
        blocklisted: Iterable[str] = (),
        account: str = ACCOUNT,
    ) -> None:
        """Contacts as earlier flows left them: imported with ``flag`` by ``import_id``, some blocklisted."""
        stamp = ImportStamp(account, import_id, "seed-etag", flag, "2026-01-01T00:00:00.000+00:00")
        writes = [ContactWrite(email, {}, Verdict.VALID, row) for row, email in enumerate(emails, 1)]
        self.contact_store.merge_import(stamp, writes)
        for email in blocklisted:
            self.contact_store.blocklist(account, email, now=stamp.now, reason="unsubscribed")


def flags(contacts: dict[str, Contact]) -> set[str]:
    return {str(contact.flag_status) for contact in contacts.values()}


def subscriptions(contacts: dict[str, Contact]) -> set[str]:
    return {str(contact.subscription_status) for contact in contacts.values()}


__all__ = ["ACCOUNT", "BUCKET", "TABLE", "Cloud", "SubscriptionStatus", "flags", "subscriptions"]
