"""The local AWS: infra/template.yaml deployed on moto, in this process or behind an HTTP endpoint."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

from . import invocations, motocompat, routing
from .deploy import deploy
from .errors import LocalCloudError
from .template import find_root

STACK_NAME = "listguard"
REGION = "us-east-1"
# moto only executes state machines (its ASL interpreter) with this switch on.
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}


def _mock_aws() -> Any:
    from moto import mock_aws

    return mock_aws(config=cast("DefaultConfig", MOTO_CONFIG))


@dataclass
class LocalCloud:
    """A deployed local cloud: its stack outputs and boto3 clients that reach it."""

    stack_name: str
    region: str
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this local cloud (created on first use, then reused)."""
        if service not in self._clients:
            self._clients[service] = _boto3_client(service, self.region, self.endpoint_url)
        return self._clients[service]

    def resource(self, service: str) -> Any:
        """A boto3 resource (e.g. a DynamoDB Table) on this local cloud."""
        import boto3

        if self.endpoint_url is None:
            return boto3.resource(service, region_name=self.region)
        return boto3.resource(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    @classmethod
    @contextlib.contextmanager
    def start(
        cls, root: Path | None = None, region: str = REGION, environment: Mapping[str, str] | None = None
    ) -> Iterator[LocalCloud]:
        """In process: ``with LocalCloud.start() as cloud:`` mocks AWS with moto and deploys the stack.

        ``environment`` is applied over every function's own environment while the cloud runs (for
        example ``{"POWERTOOLS_LOG_LEVEL": "WARNING"}``).
        """
        _install_gap_fillers()
        with _mock_aws(), routing.cloud_environment(environment or {}):
            yield _deploy(root or find_root(), region)

    @classmethod
    @contextlib.contextmanager
    def serve(
        cls,
        port: int = 4566,
        root: Path | None = None,
        region: str = REGION,
        environment: Mapping[str, str] | None = None,
    ) -> Iterator[LocalCloud]:
        """As a server on 127.0.0.1:``port`` (for the AWS CLI and other processes); stopped on exit.

        The port opens only once the stack, its notifications and its routing are in place: a client that
        gets an answer gets the whole stack.
        """
        check_port(port)
        _ensure_port_free(port)  # fail before the deploy, not after it
        _install_gap_fillers()
        # werkzeug logs every request on stderr; the console prints what matters itself.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        endpoint_url = f"http://127.0.0.1:{port}"
        previous_port = os.environ.get("MOTO_PORT")
        # The ASL interpreter calls Lambda back on localhost:$MOTO_PORT: it must be this server's port.
        os.environ["MOTO_PORT"] = str(port)
        # The handlers run inside this process (routing): with moto's in-process mock on, their AWS calls
        # reach the same backends as the server without HTTP, so an invocation that triggers another one
        # synchronously (S3 notification, SNS subscription) stays on one thread instead of waiting on a
        # server thread. The deploy goes the same way, before the port opens.
        mock = _mock_aws()
        mock.start()
        server: motocompat.HttpServer | None = None
        try:
            with routing.cloud_environment(environment or {}):
                deployed = _deploy(root or find_root(), region)
                server = motocompat.HttpServer(port)
                server.start()
                yield dataclasses.replace(deployed, endpoint_url=endpoint_url, _clients={})
        finally:
            if server is not None:
                server.stop()
            mock.stop()
            if previous_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = previous_port


def check_port(port: int) -> None:
    """Raises LocalCloudError unless ``port`` is a TCP port the local cloud can listen on."""
    if not 1 <= port <= 65535:
        raise LocalCloudError(f"port {port} is not a TCP port: give one from 1 to 65535 (default 4566)")


def check_endpoint_url(endpoint_url: str) -> None:
    """Raises LocalCloudError unless ``endpoint_url`` is an http(s) URL with a host (and a valid port)."""
    problem = None
    try:
        parsed = urllib.parse.urlsplit(endpoint_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            problem = "is not an http:// or https:// URL"
        else:
            parsed.port  # noqa: B018 - raises ValueError when out of range
    except ValueError as exc:
        problem = f"is not a valid URL ({exc})"
    if problem:
        raise LocalCloudError(f"endpoint {endpoint_url!r} {problem}: give one like http://127.0.0.1:4566")


def connect(endpoint_url: str, region: str = REGION, stack_name: str = STACK_NAME) -> LocalCloud:
    """A running local cloud (``listguard local serve``) seen from another process."""
    check_endpoint_url(endpoint_url)
    try:
        cloudformation = _boto3_client("cloudformation", region, endpoint_url, retries=1)
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        resources = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    except Exception as exc:
        raise LocalCloudError(f"no local cloud with stack {stack_name} at {endpoint_url}: {exc}") from exc
    return LocalCloud(
        stack_name=stack_name,
        region=region,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        physical_ids={r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources},
        endpoint_url=endpoint_url,
    )


def _install_gap_fillers() -> None:
    invocations.install()
    motocompat.speed_up_dynamodb_items()
    motocompat.make_dynamodb_atomic_and_fast()


def _deploy(root: Path, region: str) -> LocalCloud:
    """Deploys in process (moto's mock is on), whether or not the cloud is then served over HTTP."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = _boto3_client(service, region, endpoint_url=None)
        return clients[service]

    stack = deploy(root, STACK_NAME, client, region)
    return LocalCloud(stack.stack_name, region, stack.outputs, stack.physical_ids, None, clients)


def _boto3_client(service: str, region: str, endpoint_url: str | None, retries: int | None = None) -> Any:
    import boto3
    from botocore.config import Config

    if endpoint_url is None:  # in process: moto's mock_aws supplies fake credentials
        return boto3.client(service, region_name=region)
    # The local server accepts any credentials; the caller's shell may have none at all.
    credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    # A local endpoint that does not answer at once will not answer after a backoff either.
    config = Config(retries={"total_max_attempts": retries}) if retries else None
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config, **credentials)


def _ensure_port_free(port: int) -> None:
    # A busy port is reported before the deploy; HttpServer still reports one taken meanwhile.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LocalCloudError(f"port {port} on 127.0.0.1 is in use ({exc.strerror})") from exc
