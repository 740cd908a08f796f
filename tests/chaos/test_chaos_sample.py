"""A fixed sample of the sweep, on every flow: a flow cannot join the sweep without passing it.

``make chaos`` runs the whole sweep (every call of every flow, each way of failing); this runs, per flow,
its fault-free run and one fault: the first email's request is sent twice by the SDK (an email sent
twice, before the notification clients stopped resending); a flow that sends no email loses the answer
of its call halfway through instead.
"""

from __future__ import annotations

import pytest

from listguard_console.chaos.calls import Call, Fault, FaultKind
from listguard_console.chaos.flow import Flow
from listguard_console.chaos.flows import FLOWS
from listguard_console.chaos.sweep import sweep_flow

pytestmark = pytest.mark.e2e


def sample(faults: list[Fault], calls: list[Call]) -> list[Fault]:
    numbers = sorted({fault.call for fault in faults})
    sends = [call.number for call in calls if call.operation == "sesv2.SendEmail" and call.number in numbers]
    if sends:
        return [Fault(sends[0], FaultKind.RESENT_REQUEST)]
    return [Fault(numbers[len(numbers) // 2], FaultKind.LOST_RESPONSE)]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.name)
def test_the_flow_survives_a_fixed_sample_of_faults(flow: Flow) -> None:
    report = sweep_flow(flow, workers=1, select=sample)

    assert report.reference_problems == []
    assert [str(judged) for judged in report.findings] == []
    assert report.faults == 1
