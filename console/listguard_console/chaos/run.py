"""Runs of a flow, each on its own copy of one deployed, set-up local cloud, with at most one fault.

``prepare(flow)`` deploys the stack once on an in-process local cloud and runs the flow's ``setup``
(through the console's stores: not recorded, never faulted), then takes the state ``before``. Every run
then starts from an exact copy of that process (``os.fork``: the child inherits moto's whole state),
so no run pays for a deploy and no run sees another's traces. In the child:

1. the flow's ``steps``, each once the stack rests and AWS's later recoveries (SQS redelivery, the
   schedules' next run) have acted; the fault (if any) is armed from the first step on;
2. those recoveries again, then the state it ``rested`` in;
3. if ``should_retry`` says so (the sweep asks when the state is not the fault-free one): the flow's
   console ``retry``, then the recoveries again;
4. every S3 event of the run delivered once more, then the ``final`` state.

The child sends its ``Run`` back through a pipe. Forking needs Linux (or macOS) and a parent with one
thread: the parent never runs a flow itself.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import logging
import os
import pickle
import selectors
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from listguard.aws import aws_clients
from listguard_console.localcloud import LocalCloud, motocompat
from listguard_console.stack import current

from .calls import Call, CallLog, Fault
from .flow import ConsoleError, Flow, Stage, Step
from .platform import Platform, RunStuckError
from .state import Observer, State

#: Every flow runs with these over the functions' environment: quiet logs, no metrics, and a check from
#: 5 new contacts (1,000 when deployed), so that a few contacts tell each story and moto stays fast.
BASE_ENVIRONMENT: Mapping[str, str] = {
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "LISTGUARD_CHECK_MIN_NEW_CONTACTS": "5",
}


#: What the functions import on their first (cold) invocation: imported once in the parent, so that no
#: run pays for it again.
WARM_MODULES = (
    "aws_lambda_powertools.tracing.tracer",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_xray_sdk.core",
    "listguard.flows.imports",
)


class HarnessError(RuntimeError):
    """A run could not be carried out (not a finding about the flow)."""


@dataclass
class Run:
    """What one run did and the states it came to rest in."""

    flow: str
    fault: Fault | None
    calls: list[Call]
    fired: bool
    faulted_call: Call | None
    before: State
    rested: State
    final: State
    retried: bool = False
    #: Console commands of the flow that failed (their one line each).
    console_errors: list[str] = field(default_factory=list)
    #: Why the run did not come to rest, if it did not.
    stuck: str | None = None


@dataclass
class Prepared:
    """A deployed local cloud with the flow set up: every run forks from it."""

    flow: Flow
    cloud: LocalCloud
    files: Path
    calls: CallLog
    platform: Platform
    observer: Observer
    before: State


@contextlib.contextmanager
def prepare(flow: Flow, *, for_forks: bool = True) -> Iterator[Prepared]:
    environment = {**BASE_ENVIRONMENT, **flow.environment}
    for module in WARM_MODULES:
        importlib.import_module(module)
    with (
        _quiet_logs(),
        tempfile.TemporaryDirectory(prefix="chaos-") as files,
        motocompat.step_functions_without_waiting(),
        LocalCloud.start(environment=environment) as cloud,
        current(cloud),
    ):
        calls = CallLog()
        platform = Platform(cloud)
        calls.current_function = lambda: platform.current()[0]
        calls.current_step = lambda: platform.current()[1]
        aws_clients.cache_clear()
        try:
            calls.attach(aws_clients(), cloud.region)
            observer = Observer(cloud)
            observer.subscribe()
            flow.setup(Stage(cloud=cloud, calls=calls, platform=platform, files=Path(files)))
            platform.settle()
            before = observer.observe()
            calls.calls.clear()  # whatever the setup made the functions do is the flow's "given"
            platform.install()
            if for_forks:
                # What the parent holds stays as it is in every child: a child's collector skips it,
                # and its pages stay shared with the parent.
                gc.collect()
                gc.freeze()
            yield Prepared(flow, cloud, Path(files), calls, platform, observer, before)
        finally:
            gc.unfreeze()
            Platform.uninstall()
            aws_clients.cache_clear()


def run_inline(
    flow: Flow, fault: Fault | None = None, *, should_retry: Callable[[State], bool] | None = None
) -> Run:
    """One run in this process, on a local cloud deployed for it alone (slower than a forked run, but
    fine in a process with other threads, such as a pytest-xdist worker)."""
    with prepare(flow, for_forks=False) as prepared:
        return _run_here(prepared, fault, should_retry)


Task = tuple[Fault | None, Callable[[State], bool] | None]


def run_many(prepared: Prepared, tasks: Iterable[Task], *, workers: int) -> Iterator[Run]:
    """Every task in its own child, ``workers`` at a time; runs in the order they finish."""
    if threading.active_count() > 1:
        raise HarnessError("the sweep forks its runs: it must start from a process with one thread")
    # (sweep_flow also counts the threads Python does not know of, and runs inline where there are any.)
    pending = list(tasks)
    selector = selectors.DefaultSelector()
    running: dict[int, tuple[int, bytearray]] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                fault, should_retry = pending.pop(0)
                pid, reader = _fork(functools.partial(_run_here, prepared, fault, should_retry))
                running[reader] = (pid, bytearray())
                selector.register(reader, selectors.EVENT_READ)
            for key, _ in selector.select():
                reader = int(key.fd)
                pid, buffer = running[reader]
                chunk = os.read(reader, 1 << 20)
                if chunk:
                    buffer.extend(chunk)
                    continue
                selector.unregister(reader)
                os.close(reader)
                os.waitpid(pid, 0)
                del running[reader]
                yield _result(buffer)
    finally:
        for reader, (pid, _) in running.items():
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            os.close(reader)
        selector.close()


def _fork(work: Callable[[], Run]) -> tuple[int, int]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, send the result, and leave without running the parent's cleanups
        os.close(reader)
        try:
            payload = pickle.dumps(("run", work()))
        except BaseException:
            payload = pickle.dumps(("error", traceback.format_exc()))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(writer)
    return pid, reader


def _result(buffer: bytearray) -> Run:
    if not buffer:
        raise HarnessError("a run's process ended without a result")
    kind, value = pickle.loads(bytes(buffer))
    if kind == "error":
        raise HarnessError(f"a run failed in the harness:\n{value}")
    result: Run = value
    return result


def _run_here(prepared: Prepared, fault: Fault | None, should_retry: Callable[[State], bool] | None) -> Run:
    gc.unfreeze()  # the child's own garbage is collected as usual
    flow, calls, platform, observer = prepared.flow, prepared.calls, prepared.platform, prepared.observer
    calls.fault = fault
    # A directory of its own (not named by the pid: a long sweep forks enough children to reuse one).
    files = Path(tempfile.mkdtemp(prefix="run-", dir=prepared.files))
    stage = Stage(cloud=prepared.cloud, calls=calls, platform=platform, files=files)
    errors: list[str] = []
    stuck = None
    retried = False
    rested = prepared.before
    try:
        _drive(stage, flow.steps, errors)
        platform.recover(calls.__len__)
        rested = observer.observe()
        if should_retry is not None and should_retry(rested):
            retried = True
            _drive(stage, flow.retry, errors)
            platform.recover(calls.__len__)
        platform.replay_s3_events(calls.__len__)
    except RunStuckError as error:
        stuck = str(error)
    final = observer.observe()
    return Run(
        flow=flow.name,
        fault=fault,
        calls=list(calls),
        fired=calls.fired,
        faulted_call=calls.faulted_call,
        before=prepared.before,
        rested=rested if not stuck else final,
        final=final,
        retried=retried,
        console_errors=errors,
        stuck=stuck,
    )


def _drive(stage: Stage, steps: tuple[Step, ...], errors: list[str]) -> None:
    for step in steps:
        # The customer or operator acts later than AWS's own recoveries (a redelivered message, a
        # scheduled run): those come first.
        stage.platform.recover(stage.calls.__len__)
        if step.when is not None and not step.when.holds(stage):
            continue  # the story went elsewhere: this answer is not asked for
        try:
            step.run(stage)
        except ConsoleError as error:
            errors.append(str(error))


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """A fault makes the local cloud log what AWS would log (a failed invocation, a destination): the
    sweep reports outcomes, not those lines."""
    loggers = [logging.getLogger(name) for name in ("listguard_console.localcloud", "moto", "botocore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    # The layer's loggers outside a function have no handler: Python would print their warnings.
    silent = logging.NullHandler()
    logging.getLogger().addHandler(silent)
    try:
        with warnings.catch_warnings():
            # powertools warns of a flush without metrics (metrics are disabled here)
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            yield
    finally:
        logging.getLogger().removeHandler(silent)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
