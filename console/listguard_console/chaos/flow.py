"""A flow of the sweep: a small declarative description of one story on the stack.

A flow says how to run its story fault-free from end to end (``setup``, then ``steps``: console
commands, each run once the stack has come to rest and, if it has a condition, only if the condition
holds), how its documented failure shows (``failure``), and which console commands retry it after one
(``retry``). The harness records the end state itself (the whole stack, see ``state.py``).

Joining the sweep is adding one ``Flow`` to ``listguard_console.chaos.flows``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from listguard.domain.vocabulary import EventType, ImportStatus
from listguard_console.localcloud import LocalCloud
from listguard_console.stack import Stack

from .calls import CallLog, Outage
from .platform import Platform
from .state import State


class ConsoleError(RuntimeError):
    """A console command of a flow exited with an error (its one line is the message)."""


@dataclass
class Stage:
    """What a flow acts on: the local cloud (with the console pointed at it) and a directory for files."""

    cloud: LocalCloud
    calls: CallLog
    platform: Platform
    files: Path

    @property
    def stack(self) -> Stack:
        return Stack(self.cloud)

    def console(self, *args: str) -> Any:
        """Runs ``listguard ARGS --json`` on this stack; its JSON output."""
        from typer.testing import CliRunner

        from listguard_console.cli import app

        result = CliRunner().invoke(app, [*args, "--json"])
        if result.exit_code != 0:
            line = (result.stderr or result.stdout or str(result.exception)).strip().splitlines()
            raise ConsoleError(f"listguard {' '.join(args)}: {line[-1] if line else result.exit_code}")
        # The functions run in this process while the command runs: their log lines may come first. The
        # console's document is its one last line.
        lines = result.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else None

    def import_status(self, account: str, import_id: str) -> str | None:
        record = self.stack.imports.get(account, import_id)
        return str(record.status) if record else None


# -- steps ------------------------------------------------------------------------------------------------


class Condition(Protocol):
    def holds(self, stage: Stage) -> bool: ...


@dataclass(frozen=True)
class ImportIs:
    """The import rests at one of ``statuses``."""

    account: str
    import_id: str
    statuses: tuple[str, ...]

    def holds(self, stage: Stage) -> bool:
        return stage.import_status(self.account, self.import_id) in self.statuses

    def __str__(self) -> str:
        return f"{self.import_id} is {' or '.join(self.statuses)}"


def import_is(account: str, import_id: str, *statuses: ImportStatus) -> ImportIs:
    return ImportIs(account, import_id, tuple(str(status) for status in statuses))


class Step(Protocol):
    @property
    def when(self) -> Condition | None: ...

    def run(self, stage: Stage) -> None: ...


@dataclass(frozen=True)
class Console:
    """A console command (``listguard ARGS``), as the customer or an operator types it."""

    args: tuple[str, ...]
    when: Condition | None = None

    def run(self, stage: Stage) -> None:
        stage.console(*self.args)

    def __str__(self) -> str:
        return "listguard " + " ".join(self.args) + (f" (when {self.when})" if self.when else "")


def console(*args: str, when: Condition | None = None) -> Console:
    return Console(tuple(args), when)


@dataclass(frozen=True)
class Upload:
    """The customer uploads ``body`` as ``<import_id>.csv`` (``listguard imports upload``), optionally
    during an ``outage`` of the flow's story."""

    account: str
    import_id: str
    body: bytes
    when: Condition | None = None
    outage: Outage | None = None

    def run(self, stage: Stage) -> None:
        path = stage.files / f"{self.import_id}.csv"
        path.write_bytes(self.body)
        args = ("imports", "upload", str(path), "--account", self.account, "--name", path.name)
        if self.outage is None:
            stage.console(*args)
            return
        with stage.calls.outage(self.outage):
            stage.console(*args)

    def __str__(self) -> str:
        return f"upload {self.import_id}.csv to {self.account}" + (
            f" during an outage of {self.outage.operation}" if self.outage else ""
        )


# -- failures ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """How a state that differs from the fault-free end state stands."""

    #: The flow rests in its documented failed state.
    failed: bool
    #: Someone was told (the notifications that told them are left out of the comparison after a retry).
    told: tuple[str, ...] = ()
    #: Why it is not a documented failure, when it is not.
    why_not: str = ""

    @property
    def documented(self) -> bool:
        return self.failed and bool(self.told)


class Failure(Protocol):
    def assess(self, state: State) -> Assessment: ...


@dataclass(frozen=True)
class FailedAndTold:
    """A record of the flow (an import, a remediation, a campaign: its item ``kind``, found by its
    ``id_field``) is ``failed`` with a reason, and its account was told (a notice of ``event_type``
    about it)."""

    kind: str
    id_field: str
    record_id: str
    account: str
    event_type: EventType

    def assess(self, state: State) -> Assessment:
        name = f"{self.kind} {self.record_id}"
        record = next(
            (
                item
                for item in state.of_type(self.kind).values()
                if item.get(self.id_field) == self.record_id
                and item.get("account", self.account) == self.account
            ),
            None,
        )
        if record is None:
            return Assessment(False, why_not=f"{name} has no record")
        if record.get("status") != FAILED:
            return Assessment(False, why_not=f"{name} is {record.get('status')}")
        if not record.get("error"):
            return Assessment(True, why_not=f"{name} failed without a reason")
        told = tuple(
            str(item["notification_id"])
            for item in state.notifications.values()
            if item.get("account_id") == self.account
            and item.get("event_type") == self.event_type
            and (item.get("data") or {}).get(self.id_field) == self.record_id
        )
        if not told:
            return Assessment(True, why_not=f"{name} failed and nobody was told")
        return Assessment(True, told=told)


#: The failed status of imports, remediations and campaigns alike.
FAILED = str(ImportStatus.FAILED)


def import_failed(account: str, import_id: str) -> FailedAndTold:
    """The import is ``failed`` with a reason, and its account was told (an ``import_failed`` notice)."""
    return FailedAndTold("import", "import_id", import_id, account, EventType.IMPORT_FAILED)


# -- what the fault-free run must show (a flow that does not is itself broken) ----------------------------


class Expectation(Protocol):
    def unmet(self, state: State) -> str | None: ...


@dataclass(frozen=True)
class ImportEnds:
    """The import ends at ``status``."""

    account: str
    import_id: str
    status: ImportStatus

    def unmet(self, state: State) -> str | None:
        for item in state.imports.values():
            if item.get("account") == self.account and item.get("import_id") == self.import_id:
                status = item.get("status")
                return (
                    None
                    if status == self.status
                    else f"import {self.import_id} ends {status}, not {self.status}"
                )
        return f"import {self.import_id} has no record"


@dataclass(frozen=True)
class Told:
    """The account was told of ``event_type`` (about ``import_id``, if given)."""

    account: str
    event_type: EventType
    import_id: str | None = None

    def unmet(self, state: State) -> str | None:
        for item in state.notifications.values():
            if item.get("account_id") != self.account or item.get("event_type") != self.event_type:
                continue
            if self.import_id is None or (item.get("data") or {}).get("import_id") == self.import_id:
                return None
        about = f" about {self.import_id}" if self.import_id else ""
        return f"{self.account} was never told {self.event_type}{about}"


# -- the flow ---------------------------------------------------------------------------------------------


def _nothing(_: Stage) -> None:
    return None


@dataclass(frozen=True)
class Flow:
    """One story of the sweep (see the module doc)."""

    name: str
    #: One line: what the story is.
    about: str
    steps: tuple[Step, ...]
    failure: Failure
    #: What the customer or an operator runs from the console after the documented failure: the whole
    #: sequence (e.g. upload the same file again, then answer as before).
    retry: tuple[Step, ...]
    #: The account and contacts before the story (through the console's stores: not recorded, not faulted).
    setup: Callable[[Stage], None] = _nothing
    #: Set on every function while the flow runs (small thresholds keep moto fast).
    environment: Mapping[str, str] = field(default_factory=dict)
    #: What the fault-free end state must show (checked on the reference run: a flow that fails it is broken).
    expect: tuple[Expectation, ...] = ()
    #: Texts that legitimately differ from run to run in this flow (regular expressions), e.g. the error
    #: type a failure notice names when a fault ends the failing attempt differently.
    varies: tuple[str, ...] = ()
    #: For a flow that deletes contacts: the addresses that a verified export holds, in a state.
    verified_exports: Callable[[State], set[str]] | None = None
