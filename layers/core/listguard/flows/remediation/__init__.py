"""The remediation flow: segment, export, confirm, delete, clean, reimport, requeue (one module each).

The remediation state machine (infra/statemachines/remediation.asl.json) calls one step per state
(``functions/export`` and ``functions/remediation_steps``); the customer acts through
``lifecycle.start``, ``confirm.confirm_delete`` and ``lifecycle.retry`` (the console calls them).
"""

from listguard.flows.remediation.errors import (
    ExportMismatchError,
    ExportMissingError,
    RemediationError,
    RemediationSupersededError,
)
from listguard.flows.remediation.record import StepRef
from listguard.flows.remediation.services import RemediationSettings, Services, services_from_settings

__all__ = [
    "ExportMismatchError",
    "ExportMissingError",
    "RemediationError",
    "RemediationSettings",
    "RemediationSupersededError",
    "Services",
    "StepRef",
    "services_from_settings",
]
