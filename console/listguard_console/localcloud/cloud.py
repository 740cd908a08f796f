"""The local AWS: infra/template.yaml deployed on moto, in this process or behind an HTTP endpoint."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

from . import routing, speedups
from .deploy import LocalCloudError, deploy
from .template import find_root

STACK_NAME = "listguard"
REGION = "us-east-1"
# moto only executes state machines (its ASL interpreter) with this switch on (DESIGN.md).
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
    def start(cls, root: Path | None = None, region: str = REGION) -> Iterator[LocalCloud]:
        """In process: ``with LocalCloud.start() as cloud:`` mocks AWS with moto and deploys the stack."""
        routing.install()
        speedups.install()
        with _mock_aws():
            yield _deploy(root or find_root(), region, endpoint_url=None)

    @classmethod
    @contextlib.contextmanager
    def serve(cls, port: int = 4566, root: Path | None = None, region: str = REGION) -> Iterator[LocalCloud]:
        """As a server on 127.0.0.1:``port`` (for the AWS CLI and other processes); stopped on exit."""
        import requests
        from moto.server import ThreadedMotoServer

        _ensure_port_free(port)
        # werkzeug logs every request on stderr; the console prints what matters itself.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        endpoint_url = f"http://127.0.0.1:{port}"
        previous_port = os.environ.get("MOTO_PORT")
        # The ASL interpreter calls Lambda back on localhost:$MOTO_PORT: it must be this server's port.
        os.environ["MOTO_PORT"] = str(port)
        routing.install()
        speedups.install()
        # The handlers run inside this process (routing): with moto's in-process mock on, their AWS calls
        # reach the same backends without HTTP, so an invocation that triggers another one synchronously
        # (S3 notification, SNS subscription) stays on one thread instead of waiting on a server thread.
        mock = _mock_aws()
        mock.start()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            requests.post(f"{endpoint_url}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()
            yield _deploy(root or find_root(), region, endpoint_url=endpoint_url)
        finally:
            server.stop()
            mock.stop()
            if previous_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = previous_port


def connect(endpoint_url: str, region: str = REGION, stack_name: str = STACK_NAME) -> LocalCloud:
    """A running local cloud (``listguard local serve``) seen from another process."""
    cloudformation = _boto3_client("cloudformation", region, endpoint_url)
    try:
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


def _deploy(root: Path, region: str, endpoint_url: str | None) -> LocalCloud:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = _boto3_client(service, region, endpoint_url)
        return clients[service]

    stack = deploy(root, STACK_NAME, client, region)
    return LocalCloud(stack.stack_name, region, stack.outputs, stack.physical_ids, endpoint_url, clients)


def _boto3_client(service: str, region: str, endpoint_url: str | None) -> Any:
    import boto3

    if endpoint_url is None:  # in process: moto's mock_aws supplies fake credentials
        return boto3.client(service, region_name=region)
    # The local server accepts any credentials; the caller's shell may have none at all.
    credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **credentials)


def _ensure_port_free(port: int) -> None:
    # ThreadedMotoServer.start() waits forever when its server thread fails to bind: check first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LocalCloudError(f"port {port} on 127.0.0.1 is in use ({exc.strerror})") from exc
