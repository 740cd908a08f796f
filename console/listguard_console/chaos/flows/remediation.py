"""The remediation in the sweep: segment, export, the typed count, verify, delete, clean, reimport.

Every story starts from an account whose bought list was declined by a real import (uploaded, checked
and confirmed through the stack during the setup, so the account's counter and the contacts are what an
import leaves): four good leads who opened lately, one who has not opened for two years, two disposable
addresses, and a fifth good lead the customer blocklisted (never part of the segment). The remediation
exports the seven declined, subscribed contacts, deletes them once the customer types 7, drops the three
invalid or unengaged ones, and reimports the four others (fewer than the check's 5 new contacts here:
written at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from listguard.domain import keys
from listguard.domain.keys import contact_key
from listguard.domain.remediation import RemediationStatus
from listguard.domain.vocabulary import EventType, ImportStatus
from listguard.stores.remediations import RemediationStore

from ..flow import Console, FailedAndTold, Flow, ImportEnds, Stage, Told, console
from ..state import State

ACCOUNT = "acme"
OWNER = "owner@acme.example"
REQUEST = "spring-clean"
RID = keys.remediation_id_for(ACCOUNT, REQUEST)
#: The declined, subscribed contacts the remediation exports and deletes.
SEGMENT = 7


def _bought_list() -> bytes:
    lately = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    long_ago = (datetime.now(UTC) - timedelta(days=730)).date().isoformat()
    rows = [f"lead{index}@example.com,Lead {index},{lately}" for index in range(5)]
    rows += [f"asleep@example.com,Asleep,{long_ago}", "temp0@mailinator.com,Temp,", "temp1@yopmail.com,Temp,"]
    return ("email,first_name,last_open\n" + "".join(f"{row}\n" for row in rows)).encode()


def _declined_account(stage: Stage) -> None:
    """The setup: a declined import (2 disposable addresses in 8 rows), then a blocklisted lead."""
    stage.console("accounts", "set-email", ACCOUNT, OWNER)
    path = stage.files / "bought.csv"
    path.write_bytes(_bought_list())
    stage.console("imports", "upload", str(path), "--account", ACCOUNT, "--name", path.name)
    stage.platform.settle()
    stage.console("imports", "confirm", "bought", "--account", ACCOUNT)
    stage.platform.settle()
    status = stage.import_status(ACCOUNT, "bought")
    if status != ImportStatus.DECLINED:
        raise RuntimeError(f"the setup's bought list is {status}, not declined")
    stage.console("contacts", "blocklist", "lead4@example.com", "--account", ACCOUNT)


# -- how a remediation shows ------------------------------------------------------------------------------


def _remediation(state: State, remediation_id: str) -> dict[str, Any] | None:
    records = state.of_type("remediation").values()
    return next((item for item in records if item.get("remediation_id") == remediation_id), None)


@dataclass(frozen=True)
class RemediationIs:
    """The remediation rests at one of ``statuses``."""

    remediation_id: str
    statuses: tuple[str, ...]

    def holds(self, stage: Stage) -> bool:
        record = RemediationStore(stage.stack.table).get(self.remediation_id)
        return record is not None and str(record.status) in self.statuses

    def __str__(self) -> str:
        return f"{self.remediation_id} is {' or '.join(self.statuses)}"


def remediation_is(remediation_id: str, *statuses: RemediationStatus) -> RemediationIs:
    return RemediationIs(remediation_id, tuple(str(status) for status in statuses))


def remediation_failed(account: str, remediation_id: str) -> FailedAndTold:
    """The remediation is ``failed`` with a reason, and its account was told (a ``remediation_failed``
    notice): ``listguard remediate retry`` resumes it where it stopped."""
    return FailedAndTold(
        "remediation", "remediation_id", remediation_id, account, EventType.REMEDIATION_FAILED
    )


@dataclass(frozen=True)
class RemediationEnds:
    """The remediation ends at ``status``, having deleted ``deleted`` contacts."""

    remediation_id: str
    status: RemediationStatus
    deleted: int

    def unmet(self, state: State) -> str | None:
        record = _remediation(state, self.remediation_id)
        if record is None:
            return f"remediation {self.remediation_id} has no record"
        tally = record.get("deleted")
        deleted = tally.get("deleted") if isinstance(tally, dict) else None
        if (record.get("status"), deleted) != (self.status, self.deleted):
            return f"remediation {self.remediation_id} ends {record.get('status')} with {deleted} deleted"
        return None


def verified_exports(state: State) -> set[str]:
    """The addresses of every export that its remediation verified before deleting (the delete step
    checks the export's digest, rows and contacts against its snapshot, and records ``export_verified_at``),
    read from the export as it is now: it must still be there, with the rows the remediation recorded."""
    addresses: set[str] = set()
    for record in state.of_type("remediation").values():
        export = record.get("export")
        if not record.get("export_verified_at") or not isinstance(export, dict):
            continue
        stored = state.objects.get(f"ExportsBucketName/{export.get('key')}")
        emails = stored.get("emails", []) if isinstance(stored, dict) else []
        if len(emails) == export.get("rows"):
            addresses |= {contact_key(address) for address in emails}
    return addresses


# -- the stories ------------------------------------------------------------------------------------------


def _start(*options: str) -> Console:
    return console("remediate", "start", "--account", ACCOUNT, "--request-id", REQUEST, *options)


def _confirm_delete() -> Console:
    return console(
        "remediate", "confirm-delete", RID, "--count", str(SEGMENT),
        when=remediation_is(RID, RemediationStatus.AWAITING_CONFIRMATION),
    )  # fmt: skip


def _retry() -> Console:
    return console("remediate", "retry", RID, when=remediation_is(RID, RemediationStatus.FAILED))


REMEDIATION_REIMPORTED = Flow(
    name="remediation-reimported",
    about="a declined list: exported, 7 typed, verified, deleted, cleaned, the 4 good ones reimported",
    setup=_declined_account,
    steps=(_start("--consent-attested"), _confirm_delete()),
    failure=remediation_failed(ACCOUNT, RID),
    retry=(_retry(), _confirm_delete()),
    expect=(
        RemediationEnds(RID, RemediationStatus.DONE, SEGMENT),
        Told(ACCOUNT, EventType.EXPORT_READY),
        Told(ACCOUNT, EventType.REMEDIATION_FINISHED),
        ImportEnds(ACCOUNT, f"clean-{RID}", ImportStatus.IMPORTED),
    ),
    verified_exports=verified_exports,
)

REMEDIATION_KEPT = Flow(
    name="remediation-kept",
    about="a declined list: exported, 7 typed, deleted, cleaned; no consent attested: the clean list waits",
    setup=_declined_account,
    steps=(_start("--separator", ";"), _confirm_delete()),
    failure=remediation_failed(ACCOUNT, RID),
    retry=(_retry(), _confirm_delete()),
    expect=(
        RemediationEnds(RID, RemediationStatus.DONE, SEGMENT),
        Told(ACCOUNT, EventType.REMEDIATION_FINISHED),
    ),
    verified_exports=verified_exports,
)

FLOWS = (REMEDIATION_REIMPORTED, REMEDIATION_KEPT)
