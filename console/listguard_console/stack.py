"""The deployed stack seen from the console: its outputs, and the layer's stores on its table.

The console reads and writes through the same stores as the functions (never a key or a query of its
own): a local cloud in this process, one served by `listguard local serve`, or a real AWS account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from listguard.stores import AccountStore, ContactStore, ImportStore, Table


class Cloud(Protocol):
    """Anything with stack outputs and boto3 clients: a LocalCloud, or a real account's stack."""

    outputs: dict[str, str]

    def client(self, service: str) -> Any: ...


@dataclass(frozen=True)
class Stack:
    cloud: Cloud

    @property
    def outputs(self) -> dict[str, str]:
        return self.cloud.outputs

    @property
    def table(self) -> Table:
        return Table(self.cloud.client("dynamodb"), self.outputs["TableName"])

    @property
    def contacts(self) -> ContactStore:
        return ContactStore(self.table)

    @property
    def imports(self) -> ImportStore:
        return ImportStore(self.table)

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.table, self.contacts)
