"""What AWS does around the functions, and knowing when a run has come to rest.

The local cloud already retries an asynchronous invocation (twice, same request id) and delivers its
on-failure destination, and moto's interpreter applies the state machines' ``Retry`` and ``Catch``.
This module adds, through public APIs only, what AWS does later on its own:

- **SQS redelivery**: a message whose batch failed becomes visible again after the queue's visibility
  timeout and is delivered to the function again (the local cloud only polls a queue when a message is
  sent to it, so a failed batch would otherwise wait for a next message that never comes);
- **the scheduled jobs' next run**: every EventBridge rule with a schedule invokes its function once more;
- **a redelivered S3 event**: S3 delivers its events at least once; ``replay_s3_events`` delivers every
  S3 event of the run once more, as an asynchronous invocation (with Lambda's retries).

``Platform.settle`` waits until nothing runs: no invocation in flight, and every execution either ended
or waits for a task token.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from listguard_console.localcloud import LocalCloud, invocations, motocompat
from listguard_console.localcloud.motocompat import InvocationOutcome, InvocationType, LambdaFunctionView

#: How long a run may take to come to rest before the harness gives up on it (a stuck run is a finding).
SETTLE_TIMEOUT_SECONDS = 60.0
#: Rest is declared after this many polls in a row that saw nothing move.
QUIET_POLLS = 3
POLL_SECONDS = 0.015
#: An SQS message is delivered again at most this often (AWS would keep going until it expires).
MAX_REDELIVERIES = 3


class RunStuckError(RuntimeError):
    """The run did not come to rest in time."""


@dataclass(eq=False)
class Invocation:
    function: str
    step: str


@dataclass
class Platform:
    """One run's view of the local cloud's Lambda service: which invocation runs, and the S3 events."""

    cloud: LocalCloud
    #: Deployed function name -> its logical id in the template (names carry a random suffix).
    logical_names: dict[str, str] = field(default_factory=dict)
    started: int = 0
    #: Runs of the scheduled rules' targets (the requeue job) that ``run_schedules`` started.
    scheduled_runs: int = 0
    s3_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _stack: list[Invocation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: One invocation at a time, as the local cloud runs them anyway; taken before an invocation is on
    #: the stack, so that one waiting for its turn (a Step Functions task while import_check still runs)
    #: is not taken for the one running. Re-entrant: an invocation may start another on its thread.
    _turn: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.logical_names = {
            physical: logical
            for logical, physical in self.cloud.physical_ids.items()
            if logical.endswith("Function")
        }

    # -- the Lambda service -------------------------------------------------------------------------------

    def install(self) -> None:
        """Routes every invocation through this platform (then on to the local cloud's own handling)."""
        motocompat.route_lambda_invocations(self._handle)

    @staticmethod
    def uninstall() -> None:
        invocations.install()

    def _handle(
        self, function: LambdaFunctionView, event: Any, invocation_type: InvocationType
    ) -> InvocationOutcome:
        if invocation_type == "Event" and _is_s3_event(event):
            self.s3_events.append((function.name, event))
        step = str(event.get("step", "")) if isinstance(event, dict) else ""
        invocation = Invocation(self.logical_names.get(function.name, function.name), step)
        with self._turn:
            with self._lock:
                self.started += 1
                self._stack.append(invocation)
            try:
                return invocations.handle(function, event, invocation_type)
            finally:
                with self._lock:
                    self._stack.remove(invocation)

    @property
    def in_flight(self) -> int:
        return len(self._stack)

    def current(self) -> tuple[str, str]:
        """(function, step) of the innermost invocation running now (every one holds the local cloud's
        invocation lock, so the functions' calls of any thread belong to it)."""
        with self._lock:
            if not self._stack:
                return "?", ""
            top = self._stack[-1]
            return top.function, top.step

    # -- rest -----------------------------------------------------------------------------------------------

    def settle(self, activity: Any = None, timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
        """Returns once nothing has moved for a few polls: no invocation in flight, every execution ended
        or waiting for its task token. ``activity`` (e.g. the call count) is compared too."""
        deadline = time.monotonic() + timeout
        quiet, last = 0, None
        while True:
            if self.in_flight:  # a function runs: nothing can rest yet, and polling moto would slow it
                quiet, last = 0, None
                time.sleep(POLL_SECONDS)
                if time.monotonic() <= deadline:
                    continue
            executions = self._executions()
            busy = self.in_flight > 0 or any(
                status == "RUNNING" and not waiting for _, status, _, waiting in executions
            )
            seen = (self.started, self.in_flight, activity() if activity else None, executions)
            quiet = quiet + 1 if not busy and seen == last else 0
            if quiet >= QUIET_POLLS:
                return
            if time.monotonic() > deadline:
                running = [name for name, status, _, waiting in executions if status == "RUNNING"]
                raise RunStuckError(
                    f"the run did not come to rest in {timeout:.0f} s "
                    f"(invocations in flight: {self.in_flight}, executions running: {running})"
                )
            last = seen
            time.sleep(POLL_SECONDS)

    def _executions(self) -> tuple[tuple[str, str, int, bool], ...]:
        """(arn, status, events, waits for a task token) of every execution of the stack's machines."""
        sfn = self.cloud.client("stepfunctions")
        found = []
        for machine in self.state_machine_arns():
            for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
                arn, status = execution["executionArn"], execution["status"]
                events: list[dict[str, Any]] = []
                if status == "RUNNING":
                    events = list(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])
                found.append((arn, status, len(events), _waits_for_token(events)))
        return tuple(sorted(found))

    def state_machine_arns(self) -> list[str]:
        return sorted(
            physical
            for logical, physical in self.cloud.physical_ids.items()
            if physical.startswith("arn:aws:states:")
        )

    # -- AWS's own recoveries -------------------------------------------------------------------------------

    def redeliver_queues(self) -> int:
        """Messages left in a queue that a function consumes are delivered again (their visibility timeout
        passed). Returns how many were redelivered."""
        sqs = self.cloud.client("sqs")
        redelivered = 0
        for queue_arn in self._event_source_queues():
            queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
            ).get("Messages", [])
            for message in messages:
                # Delete, then send the same body: moto's poller delivers a queue's messages on a send.
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
                redelivered += 1
        return redelivered

    def _event_source_queues(self) -> list[str]:
        mappings = self.cloud.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        return sorted(
            {
                m["EventSourceArn"]
                for m in mappings
                if str(m.get("EventSourceArn", "")).startswith("arn:aws:sqs")
            }
        )

    def run_schedules(self) -> int:
        """The next run of every scheduled rule's Lambda targets (as EventBridge invokes them: async)."""
        events, lambda_ = self.cloud.client("events"), self.cloud.client("lambda")
        runs = 0
        for rule in events.list_rules().get("Rules", []):
            if not rule.get("ScheduleExpression") or rule.get("State") == "DISABLED":
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if ":lambda:" not in target["Arn"]:
                    continue
                payload = target.get("Input") or json.dumps(_scheduled_event(rule, self.cloud.region))
                lambda_.invoke(FunctionName=target["Arn"], InvocationType="Event", Payload=payload.encode())
                runs += 1
        self.scheduled_runs += runs
        return runs

    def recover(self, activity: Any = None) -> None:
        """Settles, then lets AWS's later recoveries act (SQS redelivery, the schedules' next run) until
        nothing is left to redeliver."""
        self.settle(activity)
        scheduled = self.run_schedules()
        if scheduled:
            self.settle(activity)
        for _ in range(MAX_REDELIVERIES):
            if not self.redeliver_queues():
                return
            self.settle(activity)

    def replay_s3_events(self, activity: Any = None) -> int:
        """Every S3 event of the run is delivered once more (S3 delivers at least once)."""
        lambda_ = self.cloud.client("lambda")
        events = list(self.s3_events)
        for function_name, event in events:
            lambda_.invoke(
                FunctionName=function_name, InvocationType="Event", Payload=json.dumps(event).encode()
            )
        self.recover(activity)
        self.s3_events = events  # the replays are not events of the run
        return len(events)


def _is_s3_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return False
    return all(isinstance(record, dict) and record.get("eventSource") == "aws:s3" for record in records)


def _waits_for_token(events: list[dict[str, Any]]) -> bool:
    """The execution's last event says a callback task was submitted and is waiting for its token."""
    if not events:
        return False
    last = events[-1]
    details = last.get("taskSubmittedEventDetails") or {}
    return last.get("type") == "TaskSubmitted" and str(details.get("resource", "")).endswith(
        "waitForTaskToken"
    )


def _scheduled_event(rule: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "chaos-scheduled-run",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule["Arn"].split(":")[4],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [rule["Arn"]],
        "detail": {},
    }
