"""``python -m listguard_console.chaos`` (``make chaos``): the fault-injection sweep over every flow.

Prints, per flow: the AWS calls of its fault-free run, the faults injected (each call in each way), the
runs that ended in the fault-free end state, the documented failures (told, and healed by the console
retry), and the violations, with what each violation broke. Exit code 1 when there is any violation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .calls import FaultKind
from .flows import FLOWS, flow_named
from .sweep import Judged, sweep_flow, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m listguard_console.chaos", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--flow", action="append", help="only this flow (repeatable); default: every flow")
    parser.add_argument(
        "--kind",
        action="append",
        choices=[str(k) for k in FaultKind],
        help="only this way of failing (repeatable)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="runs at a time (default: cores)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--list", action="store_true", help="list the flows and exit")
    args = parser.parse_args(argv)
    if args.list:
        for flow in FLOWS:
            print(f"{flow.name}: {flow.about}")
        return 0
    try:
        flows = [flow_named(name) for name in args.flow] if args.flow else list(FLOWS)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    kinds = [FaultKind(k) for k in args.kind] if args.kind else list(FaultKind)
    reports = []
    for flow in flows:
        if not args.json:
            print(f"{flow.name}: {flow.about} ...", file=sys.stderr, flush=True)
        report = sweep_flow(
            flow, kinds=kinds, workers=max(1, args.workers), progress=None if args.json else _dot
        )
        reports.append(report)
        if not args.json:
            print(f" {report.faults} runs in {report.seconds:.0f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"flows": [r.as_json() for r in reports], "table": table(reports)}, indent=2))
    else:
        print(table(reports))
        for report in reports:
            for problem in report.reference_problems:
                print(f"\n{report.flow}, fault-free: {problem}")
            for judged in report.findings:
                print(f"\n{report.flow}, {judged}")
    return 1 if any(r.violations for r in reports) else 0


def _dot(judged: Judged) -> None:
    sys.stderr.write("." if judged.verdict == "equal" else "d" if judged.verdict == "documented" else "V")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
