"""The end state of a run, as the customer, the operators and integrations would see it.

``observe`` reads it through public APIs (a table scan, the buckets, SES's sent messages, the SNS
messages a queue received, the executions) and normalises what legitimately differs from one run to
the next: timestamps, request ids, revisions, execution names, task tokens and SES's message ids; the
SES sending rate's item (the current second's count) is left out. Two runs that did the same thing have
equal states; ``differences`` says where two states part.
"""

from __future__ import annotations

import csv
import email
import email.policy
import gzip
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from listguard.domain import keys
from listguard.stores.dynamo import deserialize
from listguard_console.localcloud import LocalCloud, motocompat

#: Values that only say *when* or *which attempt*: a run with a fault legitimately has others.
_DROPPED = {
    "rev",  # a revision counts writes: a retried merge writes again
    "task_token",
    "claimed_by",  # the request id of the invocation that claimed an import
    "lease_expires_at",
    "execution_name",  # derived from the request id
    "message_id",  # SES's id of a campaign email: a new one every run
    "messageId",  # the same id, in SES's events about that email
    # An export's digest and S3 version (on its remediation's record): the export holds the contacts'
    # times, and S3 draws a version id. The export itself is compared in ``objects``, normalised.
    "sha256",
    "version_id",
}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
#: A presigned link's signature and signing time (an export's download link): new on every signing.
_SIGNED = re.compile(
    r"((?:X-Amz-(?:Date|Signature|Credential|Security-Token|Expires)|Signature|Expires)=)[^&\s\"]+"
)
#: A presigned link's host names the bucket, whose name has a random suffix (a run not forked from the
#: same deployed cloud, as in ``make test``'s sample, has another).
_S3_HOST = re.compile(r"https://[^/\s\"]+\.s3[\w.-]*\.amazonaws\.com/")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Dates written out for people ("30 Nov 2026, 12:00 UTC"): only in emails' and notifications' texts.
_HUMAN_DATE = re.compile(
    r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}(,? \d{1,2}:\d{2}( UTC)?)?"
)


def normalise(value: Any) -> Any:
    """``value`` with times, ids and bookkeeping replaced by placeholders (recursively)."""
    if isinstance(value, Mapping):
        return {
            str(k): normalise(v)
            for k, v in sorted(value.items())
            if k not in _DROPPED and not str(k).endswith("_claim")  # a notification channel's attempt
        }
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        text = _TIMESTAMP.sub("<time>", value)
        text = _HUMAN_DATE.sub("<date>", text)
        text = _SIGNED.sub(r"\1<signed>", text)
        text = _S3_HOST.sub("https://<bucket>/", text)
        return _UUID.sub("<id>", text)
    if isinstance(value, float):
        return round(value, 9)
    return value


@dataclass(frozen=True)
class State:
    """One observation of the whole stack, normalised. Every section is plain JSON."""

    #: Table items by normalised ``pk|sk``, grouped by their ``type`` (contact, import, notification, ...).
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``<bucket output>/<key>`` -> the object's normalised content (JSON) or digest.
    objects: dict[str, Any] = field(default_factory=dict)
    #: Every email SES sent: recipient, subject, notification id and text (sorted).
    emails: list[dict[str, Any]] = field(default_factory=list)
    #: Every message published on the stack's topics (sorted).
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: ``<state machine>: <status>`` for every execution (sorted).
    executions: list[str] = field(default_factory=list)
    #: Messages still waiting in the stack's queues, by queue.
    queued: dict[str, int] = field(default_factory=dict)

    # -- views ---------------------------------------------------------------------------------------------

    def of_type(self, item_type: str) -> dict[str, dict[str, Any]]:
        return {key: item for key, item in self.items.items() if item.get("type") == item_type}

    @property
    def contacts(self) -> dict[str, dict[str, Any]]:
        return self.of_type("contact")

    @property
    def imports(self) -> dict[str, dict[str, Any]]:
        return self.of_type("import")

    @property
    def notifications(self) -> dict[str, dict[str, Any]]:
        return self.of_type("notification")

    def as_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "objects": self.objects,
            "emails": self.emails,
            "messages": self.messages,
            "executions": self.executions,
            "queued": self.queued,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> State:
        return cls(**{name: document[name] for name in cls.__dataclass_fields__})

    def without(self, notification_ids: Iterable[str], failed_executions: int = 0) -> State:
        """This state less some notifications (their records, emails and messages) and ``failed_executions``
        of its FAILED executions: what a documented failure leaves behind once it has been retried."""
        ids = set(notification_ids)
        executions = list(self.executions)
        for _ in range(failed_executions):
            failed = next((e for e in executions if e.endswith(": FAILED")), None)
            if failed is not None:
                executions.remove(failed)
        return State(
            items={
                key: item
                for key, item in self.items.items()
                if not (item.get("type") == "notification" and item.get("notification_id") in ids)
            },
            objects=self.objects,
            emails=[m for m in self.emails if m.get("notification") not in ids],
            messages=[m for m in self.messages if m.get("message", {}).get("notification_id") not in ids],
            executions=executions,
            queued=self.queued,
        )


def masked(state: State, patterns: Iterable[str]) -> State:
    """``state`` with every text matching one of ``patterns`` (regular expressions) replaced by
    ``<varies>``: what a flow says legitimately differs from one run to the next."""
    compiled = [re.compile(pattern) for pattern in patterns]
    if not compiled:
        return state

    def mask(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, str):
            for pattern in compiled:
                value = pattern.sub("<varies>", value)
        return value

    return State(
        items=mask(state.items),
        objects=mask(state.objects),
        emails=mask(state.emails),
        messages=mask(state.messages),
        executions=state.executions,
        queued=state.queued,
    )


def differences(expected: State, actual: State, limit: int = 8) -> list[str]:
    """Where ``actual`` departs from ``expected``, one short line each (at most ``limit``)."""
    found: list[str] = []
    for section in ("items", "objects"):
        want, got = getattr(expected, section), getattr(actual, section)
        for key in sorted(set(want) | set(got)):
            if key not in got:
                found.append(f"{section}: missing {key}")
            elif key not in want:
                found.append(f"{section}: extra {key} {_brief(got[key])}")
            elif want[key] != got[key]:
                found.append(f"{section}: {key} {_field_differences(want[key], got[key])}")
    for section in ("emails", "messages", "executions"):
        want_counts = Counter(_canonical(v) for v in getattr(expected, section))
        got_counts = Counter(_canonical(v) for v in getattr(actual, section))
        for value, count in sorted((want_counts - got_counts).items()):
            found.append(f"{section}: missing {count}x {_brief(json.loads(value))}")
        for value, count in sorted((got_counts - want_counts).items()):
            found.append(f"{section}: extra {count}x {_brief(json.loads(value))}")
    if expected.queued != actual.queued:
        found.append(f"queued: {expected.queued} -> {actual.queued}")
    return found[:limit] + ([f"... and {len(found) - limit} more"] if len(found) > limit else [])


def _field_differences(want: Any, got: Any) -> str:
    if isinstance(want, dict) and isinstance(got, dict):
        changed = [
            f"{name}: {_brief(want.get(name))} -> {_brief(got.get(name))}"
            for name in sorted(set(want) | set(got))
            if want.get(name) != got.get(name)
        ]
        return "; ".join(changed)
    return f"{_brief(want)} -> {_brief(got)}"


def _brief(value: Any, width: int = 90) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# -- reading the stack ------------------------------------------------------------------------------------


@dataclass
class Observer:
    """Reads one local cloud's state. SNS messages are drained from a queue subscribed to every topic of
    the stack (``subscribe`` before the flow starts), so they are kept here between observations."""

    cloud: LocalCloud
    messages: list[dict[str, Any]] = field(default_factory=list)
    _queue_url: str | None = None

    def subscribe(self) -> None:
        sqs, sns = self.cloud.client("sqs"), self.cloud.client("sns")
        self._queue_url = sqs.create_queue(QueueName="chaos-observer")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for topic in self._topics():
            sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "false"},
            )

    def observe(self) -> State:
        self._drain()
        return stable(
            State(
                items=self._items(),
                objects=self._objects(),
                emails=[_email(raw) for raw in motocompat.sent_emails(self.cloud.region)],
                messages=list(self.messages),
                executions=self._executions(),
                queued=self._queued(),
            )
        )

    def _topics(self) -> list[str]:
        return sorted(
            physical for physical in self.cloud.physical_ids.values() if physical.startswith("arn:aws:sns:")
        )

    def _drain(self) -> None:
        if self._queue_url is None:
            return
        sqs = self.cloud.client("sqs")
        while True:
            received = sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not received:
                return
            for message in received:
                envelope = json.loads(message["Body"])
                attributes = {
                    name: value.get("Value")
                    for name, value in (envelope.get("MessageAttributes") or {}).items()
                }
                try:
                    body: Any = json.loads(envelope["Message"])
                except ValueError:
                    body = envelope["Message"]
                topic = str(envelope.get("TopicArn", "")).rsplit(":", 1)[-1]
                self.messages.append(
                    normalise({"topic": _logical(topic), "attributes": attributes, "message": body})
                )
                sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _items(self) -> dict[str, dict[str, Any]]:
        dynamodb = self.cloud.client("dynamodb")
        items: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": self.cloud.outputs["TableName"], "ConsistentRead": True}
        while True:
            page = dynamodb.scan(**kwargs)
            for raw in page["Items"]:
                item = deserialize(raw)
                if {"pk": item["pk"], "sk": item["sk"]} == keys.SENDING_RATE_KEY:
                    continue  # the SES rate's current second: a throttle's clock, not a state
                key = normalise(f"{item['pk']}|{item['sk']}")
                items[key] = _sent_or_unknown(normalise(item))
            if "LastEvaluatedKey" not in page:
                return dict(sorted(items.items()))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _objects(self) -> dict[str, Any]:
        s3 = self.cloud.client("s3")
        objects: dict[str, Any] = {}
        for output, bucket in sorted(self.cloud.outputs.items()):
            if not output.endswith("BucketName"):
                continue
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                    objects[f"{output}/{normalise(entry['Key'])}"] = _content(entry["Key"], body)
        return objects

    def _executions(self) -> list[str]:
        sfn = self.cloud.client("stepfunctions")
        found = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
                found.append(f"{_logical(machine['name'])}: {execution['status']}")
        return sorted(found)

    def _queued(self) -> dict[str, int]:
        sqs = self.cloud.client("sqs")
        counts: dict[str, int] = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            if url == self._queue_url:
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            waiting = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
            if waiting:
                counts[_logical(url.rsplit("/", 1)[-1])] = waiting
        return counts


def stable(state: State) -> State:
    """``state`` with its notification ids made stable, and its lists sorted.

    A notification's id derives from its event, which may name a request (one failed delivery, one
    notice): such ids differ from run to run. Each becomes ``n-`` and a digest of its normalised event
    (numbered in order of creation where two events normalise alike), in the items, emails and messages.
    """
    renamed = _stable_notification_ids(state.items)
    return State(
        items=dict(sorted(_renamed(state.items, renamed).items())),
        objects=state.objects,
        emails=sorted(_renamed(state.emails, renamed), key=_canonical),
        messages=sorted(_renamed(state.messages, renamed), key=_canonical),
        executions=sorted(state.executions),
        queued=state.queued,
    )


def _stable_notification_ids(items: dict[str, dict[str, Any]]) -> dict[str, str]:
    notes = sorted(
        (
            item
            for item in items.values()
            if item.get("type") == "notification" and item.get("notification_id")
        ),
        key=lambda item: (
            str(item.get("event_key")),
            str(item.get("created_at")),
            str(item["notification_id"]),
        ),
    )
    renamed: dict[str, str] = {}
    seen: dict[str, int] = {}
    for item in notes:
        event = str(item.get("event_key"))
        digest = hashlib.sha256(event.encode()).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        stable = f"n-{digest}" + (f"-{seen[digest]}" if seen[digest] > 1 else "")
        if stable != item["notification_id"]:
            renamed[str(item["notification_id"])] = stable
    return renamed


def _renamed(value: Any, renamed: Mapping[str, str]) -> Any:
    if not renamed:
        return value
    if isinstance(value, Mapping):
        return {_renamed(k, renamed): _renamed(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renamed) for v in value]
    if isinstance(value, str):
        for old, new in renamed.items():
            value = value.replace(old, new)
        return value
    return value


def _sent_or_unknown(item: dict[str, Any]) -> dict[str, Any]:
    """A notification channel whose send got no answer is ``unknown`` (the notifier never sends it again:
    it may have gone out). What went out is compared in ``emails`` and ``messages``: there, ``unknown``
    is ``sent`` when the message is there once, and a violation when it is missing or there twice. The
    same holds for a campaign's ledger entry (``send``): ``unknown`` (without its error, and without the
    time SES confirmed, which only a confirmed send has) reads as ``sent``."""
    if item.get("type") == "send":
        entry = {name: value for name, value in item.items() if name not in ("sent_at", "error")}
        return entry | ({"state": "sent"} if entry.get("state") == "unknown" else {})
    if item.get("type") != "notification":
        return item
    return {
        name: "sent" if name.endswith("_status") and value == "unknown" else value
        for name, value in item.items()
    }


def _logical(physical_name: str) -> str:
    """``listguard-ImportFailuresQueue-1AB2C3D4`` -> ``ImportFailuresQueue`` (names carry a random suffix)."""
    parts = physical_name.split("-")
    if len(parts) >= 3 and parts[-1].isalnum() and parts[-1].upper() == parts[-1]:
        return "-".join(parts[1:-1])
    return physical_name


def _content(key: str, body: bytes) -> Any:
    """An object as the comparison sees it: JSON normalised; text (CSV, JSON lines) by a digest of its
    normalised text, so that a time or an id written in a cell does not tell two runs apart (the sample
    in ``make test`` compares runs set up on separate deploys); anything else by its digest."""
    if key.endswith(".gz"):
        body = gzip.decompress(body)  # a gzip header holds the time it was written
    if key.endswith(".json"):
        try:
            return normalise(json.loads(body))
        except ValueError:
            pass
    stem = key.removesuffix(".gz")
    if stem.endswith(".jsonl"):
        lines = [normalise(json.loads(line)) for line in body.splitlines() if line.strip()]
        return {"lines": len(lines), "normalised_sha256": _digest(json.dumps(lines, sort_keys=True))}
    if stem.endswith(".csv"):
        text = body.decode("utf-8-sig", errors="replace")
        content: dict[str, Any] = {"lines": text.count("\n"), "normalised_sha256": _digest(normalise(text))}
        if key.endswith(EXPORT_SUFFIX):
            content["emails"] = _first_column(text)
        return content
    return {"sha256": hashlib.sha256(body).hexdigest()[:16], "bytes": len(body)}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: A remediation's export (``listguard.domain.keys.export_object_key``): the invariants need its addresses.
EXPORT_SUFFIX = "/export.csv"


def _first_column(text: str) -> list[str]:
    """The first column of a CSV whose header starts with ``email`` (any separator), header left out."""
    header = text.split("\n", 1)[0]
    separator = header[len("email")] if header.startswith("email") and len(header) > len("email") else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=separator if separator != "\r" else ",")
    next(rows, None)
    return [row[0] for row in rows if row]


def _email(raw: str) -> dict[str, Any]:
    message = email.message_from_string(raw, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    text = text_part.get_content() if text_part is not None else ""
    return normalise(
        {
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "notification": str(message.get("X-Listguard-Notification", "")),
            "text": text,
        }
    )
