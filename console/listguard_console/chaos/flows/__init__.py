"""Every flow of the sweep. A flow joins by adding its ``Flow`` descriptions here (one line per module)."""

from __future__ import annotations

from ..flow import Flow
from . import campaigns, imports, remediation

FLOWS: tuple[Flow, ...] = (*imports.FLOWS, *remediation.FLOWS, *campaigns.FLOWS)


def flow_named(name: str) -> Flow:
    for flow in FLOWS:
        if flow.name == name:
            return flow
    raise KeyError(f"no flow {name!r}: the flows are {', '.join(f.name for f in FLOWS)}")
