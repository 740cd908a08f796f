"""The sweep: every AWS call of a flow's fault-free run fails in turn, in each way, and each run is judged.

For each flow: one fault-free run (the reference: its calls, its end state, and what the flow expects
of it), then one run per (call, kind). A run's verdict:

- **equal**: it ended in the fault-free end state;
- **documented**: it rested in the flow's documented failed state, which told the customer or an
  operator, and the flow's console retry then reached the fault-free end state (less the notices of the
  failure and the failed execution);
- **violation**: anything else, or any broken invariant on any state it rested in (``invariants.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .calls import Call, Fault, FaultKind
from .flow import Flow
from .invariants import Baseline, violations
from .run import Run, Task, prepare, run_inline, run_many
from .state import State, differences, masked

Verdict = Literal["equal", "documented", "violation"]
ALL_KINDS: tuple[FaultKind, ...] = tuple(FaultKind)


@dataclass
class Judged:
    """One faulted run, judged."""

    fault: Fault
    call: str
    verdict: Verdict
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.fault.kind} at {self.call}: {self.verdict}"]
        lines += [f"    {problem}" for problem in self.problems]
        return "\n".join(lines)


@dataclass
class FlowReport:
    flow: str
    about: str
    calls: int = 0
    faults: int = 0
    equal: int = 0
    documented: int = 0
    violations: int = 0
    #: What is wrong with the fault-free run itself (a broken flow, or a layer that breaks a rule unfaulted).
    reference_problems: list[str] = field(default_factory=list)
    judged: list[Judged] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def findings(self) -> list[Judged]:
        return [j for j in self.judged if j.verdict == "violation"]

    def as_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "about": self.about,
            "aws_calls": self.calls,
            "faults_injected": self.faults,
            "equal_end_states": self.equal,
            "documented_failures": self.documented,
            "violations": self.violations,
            "reference_problems": self.reference_problems,
            "findings": [
                {"fault": str(j.fault), "call": j.call, "problems": j.problems} for j in self.findings
            ],
            "seconds": round(self.seconds, 1),
        }


def sweep_flow(
    flow: Flow,
    *,
    kinds: Sequence[FaultKind] = ALL_KINDS,
    workers: int = 2,
    select: Callable[[list[Fault], list[Call]], list[Fault]] | None = None,
    progress: Callable[[Judged], None] | None = None,
    fork: bool | None = None,
) -> FlowReport:
    """The reference run, then every fault (or those ``select`` keeps, given the reference's calls).

    Runs are forked from one deployed cloud, ``workers`` at a time; with ``fork=False`` (the default in a
    process with other threads, which a fork would copy mid-flight) they run one after the other, each on
    a cloud deployed for it."""
    started = time.monotonic()
    report = FlowReport(flow=flow.name, about=flow.about)
    if fork is None:
        fork = single_threaded()
    with contextlib.ExitStack() as stack:
        if fork:
            prepared = stack.enter_context(prepare(flow))

            def runs(tasks: list[Task]) -> Iterable[Run]:
                return run_many(prepared, tasks, workers=workers)
        else:

            def runs(tasks: list[Task]) -> Iterable[Run]:
                return (run_inline(flow, fault, should_retry=retry) for fault, retry in tasks)

        (reference,) = (_masked(run, flow) for run in runs([(None, None)]))
        report.calls = len(reference.calls)
        report.reference_problems = reference_problems(flow, reference)
        baseline = Baseline(reference.before, reference.final, flow.verified_exports)
        faults = [
            Fault(call.number, kind) for call in reference.calls if not call.in_outage for kind in kinds
        ]
        if select is not None:
            faults = select(faults, reference.calls)

        def should_retry(rested: State) -> bool:
            return masked(rested, flow.varies) != reference.final and flow.failure.assess(rested).failed

        for run in runs([(fault, should_retry) for fault in faults]):
            judged = judge(flow, reference, baseline, _masked(run, flow))
            report.judged.append(judged)
            if progress is not None:
                progress(judged)
    report.judged.sort(key=lambda j: (j.fault.call, list(FaultKind).index(j.fault.kind)))
    report.faults = len(report.judged)
    report.equal = sum(j.verdict == "equal" for j in report.judged)
    report.documented = sum(j.verdict == "documented" for j in report.judged)
    report.violations = len(report.findings) + (1 if report.reference_problems else 0)
    report.seconds = time.monotonic() - started
    return report


def single_threaded() -> bool:
    """Whether this process has one thread, counting those Python does not know of (pytest-xdist's
    execnet starts its own): only then is a fork safe."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


def reference_problems(flow: Flow, reference: Run) -> list[str]:
    """The fault-free run must come to rest, meet the flow's expectations and break no rule; and a
    redelivered S3 event must change nothing."""
    problems = [f"the fault-free run: {line}" for line in reference.console_errors]
    if reference.stuck:
        problems.append(f"the fault-free run is stuck: {reference.stuck}")
    problems += [f"expected: {unmet}" for e in flow.expect if (unmet := e.unmet(reference.final))]
    baseline = Baseline(reference.before, reference.final, flow.verified_exports)
    problems += violations(reference.final, baseline, final=True)
    if reference.rested != reference.final:
        changed = "; ".join(differences(reference.rested, reference.final))
        problems.append(f"a redelivered S3 event changed the end state: {changed}")
    return problems


def judge(flow: Flow, reference: Run, baseline: Baseline, run: Run) -> Judged:
    assert run.fault is not None
    expected_call = reference.calls[run.fault.call - 1]
    judged = Judged(fault=run.fault, call=str(expected_call), verdict="equal")
    problems = judged.problems
    if not run.fired:
        problems.append(f"the fault never went off (the run made {len(run.calls)} calls)")
    elif run.faulted_call is not None and _path(run.faulted_call) != _path(expected_call):
        problems.append(f"the run left the fault-free path before its fault: it made {run.faulted_call}")
    if run.stuck:
        problems.append(f"stuck: {run.stuck}")
    problems += _unique(
        violations(run.rested, baseline, final=False) + violations(run.final, baseline, final=True)
    )
    if run.retried:
        assessment = flow.failure.assess(run.rested)
        if not assessment.documented:
            problems.append(f"it failed, but {assessment.why_not}")
        extra_failed = _failed(run.final) - _failed(reference.final)
        healed = run.final.without(assessment.told, failed_executions=max(0, extra_failed))
        if healed != reference.final:
            problems.append("retried from the console, it still ends elsewhere than the fault-free run:")
            problems += [f"  {line}" for line in differences(reference.final, healed)]
        judged.verdict = "documented"
    elif run.final != reference.final:
        assessment = flow.failure.assess(run.rested)
        why = assessment.why_not or "not the documented failure"
        problems.append(f"it ends elsewhere than the fault-free run ({why}):")
        problems += [f"  {line}" for line in differences(reference.final, run.final)]
    if problems:
        problems += [f"console: {line}" for line in run.console_errors]
        judged.verdict = "violation"
    return judged


def _masked(run: Run, flow: Flow) -> Run:
    if not flow.varies:
        return run
    return dataclasses.replace(
        run,
        before=masked(run.before, flow.varies),
        rested=masked(run.rested, flow.varies),
        final=masked(run.final, flow.varies),
    )


def _path(call: Call) -> tuple[str, str, str]:
    return call.function, call.step, call.operation


def _failed(state: State) -> int:
    return sum(execution.endswith(": FAILED") for execution in state.executions)


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


# -- the table --------------------------------------------------------------------------------------------

COLUMNS = ("flow", "AWS calls", "faults injected", "equal end states", "documented failures", "violations")


def table(reports: Sequence[FlowReport]) -> str:
    """The sweep's table in Markdown (the README carries it)."""
    rows: list[tuple[str, ...]] = [
        (r.flow, str(r.calls), str(r.faults), str(r.equal), str(r.documented), str(r.violations))
        for r in reports
    ]
    if len(reports) > 1:
        rows.append(("all", *(str(sum(int(row[i]) for row in rows)) for i in range(1, len(COLUMNS)))))
    widths = [max(len(COLUMNS[i]), *(len(row[i]) for row in rows)) for i in range(len(COLUMNS))]
    lines = [
        "| " + " | ".join(name.ljust(widths[i]) for i, name in enumerate(COLUMNS)) + " |",
        "| " + " | ".join("-" * width for width in widths) + " |",
    ]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
            )
            + " |"
        )
    return "\n".join(lines)
