"""What can go wrong in a remediation, by kind: the state machine catches these by name.

- ``RemediationError``: something the customer or an operator can act on; its message is one line that
  says what and what to do (the console's ``error:`` line, the failure notification's reason).
- ``RemediationSupersededError``: a step of an execution that a retry replaced; that execution stops.
"""

from __future__ import annotations


class RemediationError(Exception):
    """An action or a step that cannot go on; the message says why and what to do."""


class ExportMissingError(RemediationError):
    """The export is gone (its version was deleted): nothing is deleted without it."""


class ExportMismatchError(RemediationError):
    """The export does not hold exactly the contacts about to be deleted: nothing is deleted."""


class RemediationSupersededError(Exception):
    """This execution's attempt was replaced by a retry (or the record is past this step for good)."""
