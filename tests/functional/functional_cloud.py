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
from listguard.stores import (
    AccountStore,
    ContactStore,
    ContactWrite,
    ImportStamp,
    ImportStore,
    NotificationStore,
    Table,
)
from listguard.stores.dynamo import deserialize
from listguard.verification import Verdict

TABLE = "listguard-test"
BUCKET = "listguard-imports-test"
ACCOUNT = "acme"
SENDER = "listguard@notify.example.com"
CUSTOMER = "owner@acme.example"


@dataclass
class Cloud:
    """The mocked AWS of one test, and the things a test says about it."""

    s3: Any
    dynamodb: Any  # the low-level client
    sqs: Any
    sfn: Any
    state_machine_arn: str
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
    def notification_store(self) -> NotificationStore:
        return NotificationStore(self.table)

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

    def step(self, step: str, import_id: str, account: str = ACCOUNT, **payload: Any) -> Any:
        """Run one task of the import state machine, as its Task state would."""
        record = self.import_record(import_id, account)
        event = {"step": step, "import": {"account": account, "import_id": import_id, "etag": record.etag}}
        return self.invoke({**event, **payload}, function="import_steps")

    def executions(self) -> list[dict[str, Any]]:
        """The import state machine's executions, with their input."""
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return [
            {**e, "input": json.loads(self.sfn.describe_execution(executionArn=e["executionArn"])["input"])}
            for e in listed
        ]

    def emails(self) -> list[dict[str, Any]]:
        """What SES sent (moto keeps every message): sender, recipients and the raw MIME."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        messages = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        return [
            {"source": m.source, "destinations": m.destinations, "raw": getattr(m, "raw_data", "")}
            for m in messages
        ]

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
        """Contacts as earlier flows left them: imported with ``flag`` by ``import_id``, some blocklisted
        (a blocklisted address that is not among ``emails`` is a suppression only), and counted."""
        stamp = ImportStamp(account, import_id, "seed-etag", flag, "2026-01-01T00:00:00.000+00:00")
        writes = [ContactWrite(email, {}, Verdict.VALID, row) for row, email in enumerate(emails, 1)]
        self.contact_store.merge_import(stamp, writes)
        for email in blocklisted:
            self.contact_store.blocklist(account, email, now=stamp.now, reason="unsubscribed")
        self.account_store.recount(account, now=stamp.now)


def flags(contacts: dict[str, Contact]) -> set[str]:
    return {str(contact.flag_status) for contact in contacts.values()}


def subscriptions(contacts: dict[str, Contact]) -> set[str]:
    return {str(contact.subscription_status) for contact in contacts.values()}


__all__ = ["ACCOUNT", "BUCKET", "TABLE", "Cloud", "SubscriptionStatus", "flags", "subscriptions"]


def lifecycle_of(cloud: Cloud) -> Any:
    """The lifecycle's actions (what the console calls), on this test's mocked AWS."""
    import boto3

    from listguard.domain.standing import StandingPolicy
    from listguard.flows.imports.lifecycle import Lifecycle
    from listguard.notify import Notifier
    from listguard.verification import Policy

    environment = cloud.environment
    policy = Policy()
    return Lifecycle(
        s3=cloud.s3,
        sfn=cloud.sfn,
        bucket=BUCKET,
        imports=cloud.import_store,
        contacts=cloud.contact_store,
        accounts=cloud.account_store,
        notifier=Notifier.on(
            cloud.table,
            sesv2=boto3.client("sesv2"),
            sns=boto3.client("sns"),
            topic_arn=environment["FLAG_TOPIC_ARN"],
            sender=SENDER,
        ),
        standing_policy=StandingPolicy(),
        check_min_new_contacts=policy.check_min_new_contacts,
        check_min_share_of_list=policy.check_min_share_of_list,
    )


def run_the_state_machine(
    cloud: Cloud, import_id: str, *, answer: str = "continue", account: str = ACCOUNT
) -> str:
    """What the import state machine does after import_check handed it an import, step by step (the
    ASL itself runs on the local cloud, in the e2e tests); returns the status the import rests at."""
    (execution,) = [e for e in cloud.executions() if e["input"]["import"]["import_id"] == import_id][-1:]
    if execution["input"]["needs_confirmation"]:
        cloud.step("await_confirmation", import_id, account, token=f"token-{import_id}", timeout_seconds=3600)
        lifecycle = lifecycle_of(cloud)
        (lifecycle.confirm if answer == "continue" else lifecycle.cancel)(account, import_id)
        if answer != "continue":
            return str(cloud.import_record(import_id, account).status)
    for chunk in execution["input"]["chunks"]:
        cloud.step("apply_chunk", import_id, account, chunk=chunk)
    return str(cloud.step("finish", import_id, account)["status"])
