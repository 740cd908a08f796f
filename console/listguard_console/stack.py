"""The deployed stack seen from the console: where it is, its outputs, and the layer's services on it.

The console reads and writes through the same stores and flows as the functions (never a key or a
query of its own), on whichever stack it is pointed at, in this order:

1. ``--endpoint-url URL`` (or ``LISTGUARD_ENDPOINT_URL``): a local cloud served by `listguard local serve`;
2. a local cloud running in this process (tests, `listguard demo`), made current with ``current()``;
3. otherwise a real AWS account: the stack named ``--stack`` (default ``listguard``), found through
   CloudFormation with boto3's usual credentials and region.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from listguard.domain.standing import StandingPolicy
from listguard.flows.imports.lifecycle import Lifecycle
from listguard.notify import Notifier
from listguard.stores import AccountStore, ContactStore, ImportStore, NotificationStore, Table
from listguard.verification import Policy

from .errors import CommandError

ENDPOINT_VARIABLE = "LISTGUARD_ENDPOINT_URL"
STACK_VARIABLE = "LISTGUARD_STACK"
DEFAULT_STACK = "listguard"


class Cloud(Protocol):
    """Anything with stack outputs and boto3 clients: a LocalCloud, or a real account's stack."""

    outputs: dict[str, str]

    def client(self, service: str) -> Any: ...


_CURRENT: list[Cloud] = []


@contextlib.contextmanager
def current(cloud: Cloud) -> Iterator[Cloud]:
    """Console commands run in this block act on ``cloud`` (a local cloud in this process)."""
    _CURRENT.append(cloud)
    try:
        yield cloud
    finally:
        _CURRENT.remove(cloud)


@dataclass
class AwsStack:
    """A stack deployed to a real AWS account (``sam deploy``)."""

    stack_name: str
    outputs: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        import boto3

        if service not in self._clients:
            self._clients[service] = boto3.client(service)
        return self._clients[service]

    def load(self) -> AwsStack:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            stack = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"][0]
        except (BotoCoreError, ClientError) as error:
            raise CommandError(
                f"cannot read the stack {self.stack_name!r} from AWS ({error}); deploy it with `sam deploy`, "
                f"or point the console at a local cloud with --endpoint-url or {ENDPOINT_VARIABLE}"
            ) from None
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return self


def resolve(endpoint_url: str | None = None, stack_name: str | None = None) -> Stack:
    """The stack the console acts on (see the module doc for the order)."""
    endpoint_url = endpoint_url or (None if _CURRENT else os.environ.get(ENDPOINT_VARIABLE))
    if endpoint_url:
        from .localcloud import LocalCloudError, connect

        try:
            return Stack(connect(endpoint_url))
        except LocalCloudError as error:
            raise CommandError(str(error)) from None
    if _CURRENT:
        return Stack(_CURRENT[-1])
    return Stack(AwsStack(stack_name or os.environ.get(STACK_VARIABLE) or DEFAULT_STACK).load())


@dataclass(frozen=True)
class Stack:
    cloud: Cloud

    @property
    def outputs(self) -> dict[str, str]:
        return self.cloud.outputs

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise CommandError(
                f"the stack has no output {name}: deploy the current infra/template.yaml"
            ) from None

    @functools.cached_property
    def table(self) -> Table:
        return Table(self.cloud.client("dynamodb"), self.output("TableName"))

    @property
    def contacts(self) -> ContactStore:
        return ContactStore(self.table)

    @property
    def imports(self) -> ImportStore:
        return ImportStore(self.table)

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.table, self.contacts)

    @property
    def notifications(self) -> NotificationStore:
        return NotificationStore(self.table)

    @property
    def lifecycle(self) -> Lifecycle:
        """The customer's and the operators' actions on imports, as the functions' steps see them."""
        policy = Policy()
        return Lifecycle(
            s3=self.cloud.client("s3"),
            sfn=self.cloud.client("stepfunctions"),
            bucket=self.output("ImportsBucketName"),
            imports=self.imports,
            contacts=self.contacts,
            accounts=self.accounts,
            notifier=Notifier.on(
                self.table,
                sesv2=self.cloud.client("sesv2"),
                sns=self.cloud.client("sns"),
                topic_arn=self.output("FlagTopicArn"),
                sender=self.output("NotificationSender"),
            ),
            standing_policy=StandingPolicy(),
            clock=lambda: datetime.now(UTC),
            check_min_new_contacts=policy.check_min_new_contacts,
            check_min_share_of_list=policy.check_min_share_of_list,
        )
