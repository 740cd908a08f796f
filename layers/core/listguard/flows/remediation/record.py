"""The remediation a step works on: the execution's input names it and its attempt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from listguard.domain.remediation import Remediation
from listguard.flows.remediation.errors import RemediationError, RemediationSupersededError
from listguard.flows.remediation.services import Services


@dataclass(frozen=True)
class StepRef:
    remediation_id: str
    attempt: int

    @classmethod
    def of(cls, payload: dict[str, Any]) -> StepRef:
        return cls(remediation_id=str(payload["remediation_id"]), attempt=int(payload["attempt"]))

    def execution_input(self, account: str) -> dict[str, Any]:
        return {
            "remediation": {
                "remediation_id": self.remediation_id,
                "attempt": self.attempt,
                "account": account,
            }
        }


def current(services: Services, ref: StepRef) -> Remediation:
    """The record, as long as this execution's attempt still owns it."""
    record = services.remediations.get(ref.remediation_id)
    if record is None:
        raise RemediationError(f"no remediation {ref.remediation_id}")
    if record.attempt != ref.attempt:
        raise RemediationSupersededError(f"{ref.remediation_id} is at attempt {record.attempt}")
    return record


def event_key(remediation_id: str, what: str) -> str:
    """A notification's event: one per remediation and event (a replay finds it and sends nothing)."""
    return f"remediation:{remediation_id}:{what}"
