"""Fixtures for whole flows on the local cloud (infra/template.yaml deployed on moto, in process)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from listguard_console.localcloud import LocalCloud


@pytest.fixture
def local_cloud() -> Iterator[LocalCloud]:
    """A freshly deployed local cloud for one test (about 0.2 s once moto is imported)."""
    with LocalCloud.start() as cloud:
        yield cloud


@pytest.fixture
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
