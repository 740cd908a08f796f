"""The import path in the sweep: S3 -> import_check, at once or through the import state machine.

Every story starts from the same account: its owner's address, and three contacts an earlier import
and the customer left (one declined, one blocklisted, one sendable with an attribute another flow
wrote). Files are a few rows: a check is required from 5 new contacts here (``BASE_ENVIRONMENT``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from listguard.domain.standing import StandingPolicy
from listguard.domain.vocabulary import EventType, FlagStatus, ImportStatus
from listguard.stores import ContactWrite, ImportStamp
from listguard.verification import Verdict

from ..calls import Outage
from ..flow import Console, Flow, ImportEnds, Stage, Told, Upload, console, import_failed, import_is

ACCOUNT = "acme"
OWNER = "owner@acme.example"
#: Declined by an earlier import: no import lowers it.
DECLINED = "kept@example.com"
#: Blocklisted by the customer: no import re-subscribes it.
BLOCKLISTED = "gone@example.com"
#: Sendable, with an attribute another flow wrote: an import keeps it.
SENDABLE = "fan@example.com"
SETUP_TIME = "2026-01-01T00:00:00+00:00"


def _account(stage: Stage, *, earlier_declines: int = 0) -> None:
    stack = stage.stack
    stack.accounts.set_email(ACCOUNT, OWNER, now=SETUP_TIME)
    stack.contacts.merge_import(
        ImportStamp(ACCOUNT, "earlier", "etag-earlier", FlagStatus.DECLINED, SETUP_TIME),
        [ContactWrite(DECLINED, {"first_name": "Kim"}, Verdict.VALID, 1)],
    )
    stack.contacts.merge_import(
        ImportStamp(ACCOUNT, "earlier", "etag-earlier", FlagStatus.NONE, SETUP_TIME),
        [ContactWrite(SENDABLE, {"first_name": "Fran", "vip": "yes"}, Verdict.VALID, 2)],
    )
    stack.contacts.blocklist(ACCOUNT, BLOCKLISTED, now=SETUP_TIME, reason="unsubscribed")
    now = datetime.now(UTC)
    for index in range(earlier_declines):
        stack.accounts.record_decline(
            ACCOUNT,
            f"earlier-declined-{index}",
            declined_at=(now - timedelta(days=10 + index)).isoformat(),
            now=now,
            policy=StandingPolicy(),
        )


def _account_with_a_decline(stage: Stage) -> None:
    _account(stage, earlier_declines=1)


def _csv(*rows: str) -> bytes:
    return ("email,first_name\n" + "".join(f"{row}\n" for row in rows)).encode()


def _people(count: int, prefix: str = "new") -> list[str]:
    return [f"{prefix}{index}@example.com,Person {index}" for index in range(count)]


def _confirm(import_id: str) -> Console:
    return console(
        "imports", "confirm", import_id, "--account", ACCOUNT,
        when=import_is(ACCOUNT, import_id, ImportStatus.AWAITING_CONFIRMATION),
    )  # fmt: skip


def _cancel(import_id: str) -> Console:
    return console(
        "imports", "cancel", import_id, "--account", ACCOUNT,
        when=import_is(ACCOUNT, import_id, ImportStatus.AWAITING_CONFIRMATION),
    )  # fmt: skip


def _review(import_id: str, decision: str) -> tuple[Console, Console]:
    in_review = import_is(ACCOUNT, import_id, ImportStatus.IN_REVIEW)
    return (
        console(
            "imports", "answer", import_id, "--account", ACCOUNT, "--source", "our shop's sign-up form",
            when=in_review,
        ),
        console(
            "reviews", "decide", import_id, "--account", ACCOUNT, decision,
            "--note", "checked with the customer", "--operator", "ops-alex",
            when=in_review,
        ),
    )  # fmt: skip


# -- the stories ------------------------------------------------------------------------------------------

# Fewer new contacts than a check needs: written at once by import_check, sendable; the existing contacts
# keep their flag, their subscription and the other flow's attribute. A duplicate row and a bad address
# are reported, never imported.
_AT_ONCE = _csv(
    f"{SENDABLE},Francesca", f"{BLOCKLISTED},Gil", f"{DECLINED},Kim", "new0@example.com,Ned",
    "FAN@example.com,Fran again", "not-an-address,Nobody",
)  # fmt: skip
IMPORT_AT_ONCE = Flow(
    name="import-at-once",
    about="a small list, no check: import_check writes it at once",
    setup=_account,
    steps=(Upload(ACCOUNT, "small", _AT_ONCE),),
    failure=import_failed(ACCOUNT, "small"),
    retry=(Upload(ACCOUNT, "small", _AT_ONCE),),
    expect=(ImportEnds(ACCOUNT, "small", ImportStatus.IMPORTED),),
)

_CLEAN = _csv(*_people(5), f"{DECLINED},Kim")
IMPORT_CONFIRMED = Flow(
    name="import-confirmed",
    about="a check is required; the customer continues; validated",
    setup=_account,
    steps=(Upload(ACCOUNT, "clean", _CLEAN), _confirm("clean")),
    failure=import_failed(ACCOUNT, "clean"),
    retry=(Upload(ACCOUNT, "clean", _CLEAN), _confirm("clean")),
    expect=(
        ImportEnds(ACCOUNT, "clean", ImportStatus.VALIDATED),
        Told(ACCOUNT, EventType.CHECK_REQUIRED, "clean"),
        Told(ACCOUNT, EventType.IMPORT_VALIDATED, "clean"),
    ),
)

IMPORT_CANCELLED = Flow(
    name="import-cancelled",
    about="a check is required; the customer cancels; nothing is imported",
    setup=_account,
    steps=(Upload(ACCOUNT, "clean", _CLEAN), _cancel("clean")),
    failure=import_failed(ACCOUNT, "clean"),
    retry=(Upload(ACCOUNT, "clean", _CLEAN), _cancel("clean")),
    expect=(
        ImportEnds(ACCOUNT, "clean", ImportStatus.CANCELLED),
        Told(ACCOUNT, EventType.IMPORT_CANCELLED, "clean"),
    ),
)

# One disposable address in 5 rows (20%): declined. The account had a decline 10 days ago: this second
# one puts it under review (its standing changes, with an audit entry, and the customer is told).
_BOUGHT = _csv(*_people(3), f"{SENDABLE},Fran", "temp0@mailinator.com,Temp")
IMPORT_DECLINED = Flow(
    name="import-declined",
    about="a check is required; the customer continues; declined, the account goes under review",
    setup=_account_with_a_decline,
    steps=(Upload(ACCOUNT, "bought", _BOUGHT), _confirm("bought")),
    failure=import_failed(ACCOUNT, "bought"),
    retry=(Upload(ACCOUNT, "bought", _BOUGHT), _confirm("bought")),
    expect=(
        ImportEnds(ACCOUNT, "bought", ImportStatus.DECLINED),
        Told(ACCOUNT, EventType.IMPORT_DECLINED, "bought"),
        Told(ACCOUNT, EventType.STANDING_CHANGED),
    ),
)

# One disposable address in 5 rows (20%), with a stack whose review threshold is 15% and decline threshold
# 50% (stack parameters): an operator decides, with the customer's answers.
_BORDERLINE = _csv(*_people(3), f"{DECLINED},Kim", "temp0@mailinator.com,Temp")
IMPORT_REVIEWED = Flow(
    name="import-reviewed",
    about="manual review; the customer continues and answers; an operator validates",
    setup=_account,
    environment={"LISTGUARD_REVIEW_BOUNCE_RATE": "0.15", "LISTGUARD_DECLINE_BOUNCE_RATE": "0.5"},
    steps=(Upload(ACCOUNT, "fair", _BORDERLINE), _confirm("fair"), *_review("fair", "--validate")),
    failure=import_failed(ACCOUNT, "fair"),
    retry=(Upload(ACCOUNT, "fair", _BORDERLINE), _confirm("fair"), *_review("fair", "--validate")),
    expect=(
        ImportEnds(ACCOUNT, "fair", ImportStatus.VALIDATED),
        Told(ACCOUNT, EventType.IMPORT_IN_REVIEW, "fair"),
        Told(ACCOUNT, EventType.REVIEW_VALIDATED, "fair"),
    ),
)

# The check cannot publish its reports (every attempt: an S3 outage), so Lambda's two retries fail too and
# the event goes to the failures queue; import_failed marks the import failed and the customer is told;
# the customer uploads the same file again once the outage is over.
_OUTAGE = Outage(function="ImportCheckFunction", operation="s3.PutObject")
IMPORT_FAILED = Flow(
    name="import-failed",
    about="every attempt of the check fails: import_failed marks it failed; the customer uploads again",
    setup=_account,
    steps=(
        Upload(ACCOUNT, "small", _AT_ONCE, outage=_OUTAGE),
        Upload(ACCOUNT, "small", _AT_ONCE, when=import_is(ACCOUNT, "small", ImportStatus.FAILED)),
    ),
    failure=import_failed(ACCOUNT, "small"),
    retry=(Upload(ACCOUNT, "small", _AT_ONCE),),
    expect=(
        ImportEnds(ACCOUNT, "small", ImportStatus.IMPORTED),
        Told(ACCOUNT, EventType.IMPORT_FAILED, "small"),
    ),
    # The notice names the error of the check's last attempt: a fault in that attempt ends it otherwise.
    varies=(r"attempts failed \(\w+\)",),
)

FLOWS = (IMPORT_AT_ONCE, IMPORT_CONFIRMED, IMPORT_CANCELLED, IMPORT_DECLINED, IMPORT_REVIEWED, IMPORT_FAILED)
