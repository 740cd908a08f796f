"""Campaigns in the sweep: the campaign state machine, SES feedback, the pause, its check, the requeue.

Every story starts from one account: its owner's address, contacts that earlier campaigns mailed
(sendable), one declined and one blocklisted contact (never mailed), and, in ``campaign-paused-requeued``,
contacts nobody mailed yet. The campaign is created with a request id (``campaigns create
--request-id``), so its id is known before the story runs, and the sample its id draws is too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from listguard.domain import keys
from listguard.domain.deliverability import BottomK
from listguard.domain.remediation import RemediationStatus
from listguard.domain.vocabulary import CampaignStatus, EventType, FlagStatus, ImportStatus
from listguard.stores import ContactWrite, ImportStamp
from listguard.verification import Verdict

from ..flow import Console, FailedAndTold, Flow, Stage, Told, console, import_is
from ..state import State
from .remediation import remediation_is, verified_exports

ACCOUNT = "acme"
OWNER = "owner@acme.example"
SETUP_TIME = "2026-01-01T00:00:00+00:00"
#: Declined by an earlier import: never mailed (a remediation deletes it in the paused story).
DECLINED = "kept@example.com"
#: Blocklisted by the customer: never mailed.
BLOCKLISTED = "gone@example.com"
#: Still being checked (an earlier import): never mailed.
PENDING = "wait@example.com"
#: Mailed by an earlier campaign: sendable, no sample needed for them.
MAILED = tuple(f"fan{index}@example.com" for index in range(4))
#: Never mailed: enough of them for a sample (``PAUSED_ENVIRONMENT``).
NEW = tuple(f"new{index}@example.com" for index in range(8))

SUBJECT = "Spring sale"
TEXT = "Hello, our spring collection is here."
REQUEST = "spring-2026"
CAMPAIGN = keys.campaign_id_for(ACCOUNT, REQUEST)


# -- conditions and what the stories must show --------------------------------------------------------


def _campaign(state: State, campaign_id: str) -> dict[str, Any] | None:
    return next(
        (
            item
            for item in state.of_type("campaign").values()
            if item.get("account") == ACCOUNT and item.get("campaign_id") == campaign_id
        ),
        None,
    )


@dataclass(frozen=True)
class CampaignIs:
    """The campaign rests at one of ``statuses``."""

    campaign_id: str
    statuses: tuple[str, ...]

    def holds(self, stage: Stage) -> bool:
        found = stage.stack.table.get(
            {"pk": keys.account_pk(ACCOUNT), "sk": keys.campaign_sk(self.campaign_id)}
        )
        return found is not None and found.get("status") in self.statuses

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} is {' or '.join(self.statuses)}"


def campaign_is(campaign_id: str, *statuses: CampaignStatus) -> CampaignIs:
    return CampaignIs(campaign_id, tuple(str(status) for status in statuses))


@dataclass(frozen=True)
class CampaignEnds:
    """The campaign ends at ``status``."""

    campaign_id: str
    status: CampaignStatus

    def unmet(self, state: State) -> str | None:
        item = _campaign(state, self.campaign_id)
        if item is None:
            return f"campaign {self.campaign_id} has no record"
        status = item.get("status")
        return (
            None if status == self.status else f"campaign {self.campaign_id} ends {status}, not {self.status}"
        )


@dataclass(frozen=True)
class MailedOnce:
    """Exactly ``recipients`` got the campaign's email, once each (no other contact got it)."""

    subject: str
    recipients: frozenset[str]

    def unmet(self, state: State) -> str | None:
        got = sorted(m["to"] for m in state.emails if m.get("subject") == self.subject)
        want = sorted(self.recipients)
        if got == want:
            return None
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        twice = sorted({to for to in got if got.count(to) > 1})
        return f"the campaign's emails: missing {missing}, to others {extra}, twice {twice}"


def campaign_failed(campaign_id: str) -> FailedAndTold:
    """The campaign is ``failed`` with the step's error (``campaigns send`` resumes it), and its account
    was told (a ``campaign_failed`` notice)."""
    return FailedAndTold("campaign", "campaign_id", campaign_id, ACCOUNT, EventType.CAMPAIGN_FAILED)


# -- the account --------------------------------------------------------------------------------------


def _account(stage: Stage, *, new: tuple[str, ...] = (), pending: bool = True) -> None:
    stack = stage.stack
    stack.accounts.set_email(ACCOUNT, OWNER, now=SETUP_TIME)
    earlier = ImportStamp(ACCOUNT, "earlier", "etag-earlier", FlagStatus.NONE, SETUP_TIME)
    rows = [*MAILED, *new, BLOCKLISTED]
    stack.contacts.merge_import(
        earlier,
        [
            ContactWrite(address, {"first_name": f"Person {i}"}, Verdict.VALID, i + 1)
            for i, address in enumerate(rows)
        ],
    )
    stack.contacts.merge_import(
        ImportStamp(ACCOUNT, "earlier", "etag-earlier", FlagStatus.DECLINED, SETUP_TIME),
        [ContactWrite(DECLINED, {"first_name": "Kim"}, Verdict.VALID, len(rows) + 1)],
    )
    if pending:
        stack.contacts.merge_import(
            ImportStamp(ACCOUNT, "earlier", "etag-earlier", FlagStatus.PENDING, SETUP_TIME),
            [ContactWrite(PENDING, {"first_name": "Wes"}, Verdict.VALID, len(rows) + 2)],
        )
    stack.contacts.blocklist(ACCOUNT, BLOCKLISTED, now=SETUP_TIME, reason="unsubscribed")
    for address in MAILED:  # an earlier campaign mailed them
        stack.table.update(
            {"pk": keys.account_pk(ACCOUNT), "sk": keys.contact_sk(keys.contact_key(address))},
            update="SET last_mailed_at = :at",
            condition="attribute_exists(pk)",
            values={":at": SETUP_TIME},
        )


def _create(request: str = REQUEST) -> Console:
    return console(
        "campaigns", "create", "--account", ACCOUNT, "--subject", SUBJECT, "--text", TEXT,
        "--request-id", request,
    )  # fmt: skip


def _send(campaign_id: str = CAMPAIGN) -> Console:
    return console(
        "campaigns", "send", campaign_id, "--account", ACCOUNT,
        when=campaign_is(campaign_id, CampaignStatus.DRAFT, CampaignStatus.FAILED),
    )  # fmt: skip


# -- campaign-sent ------------------------------------------------------------------------------------

# Every sendable contact was mailed before: no sample, the campaign goes to all of them at once.
CAMPAIGN_SENT = Flow(
    name="campaign-sent",
    about="a campaign to contacts mailed before: sent to every sendable contact once",
    setup=_account,
    steps=(_create(), _send()),
    failure=campaign_failed(CAMPAIGN),
    retry=(_send(),),
    expect=(CampaignEnds(CAMPAIGN, CampaignStatus.SENT), MailedOnce(SUBJECT, frozenset(MAILED))),
)


# -- campaign-paused-requeued -------------------------------------------------------------------------

#: A sample of 3 from 6 never-mailed contacts (deployed: 500 of 2,000), at any rate.
SAMPLE_SIZE = 3
PAUSED_ENVIRONMENT = {
    "LISTGUARD_SAMPLE_SIZE": str(SAMPLE_SIZE),
    "LISTGUARD_SAMPLE_MIN_NEW_CONTACTS": "6",
    "LISTGUARD_SEND_RATE_PER_SECOND": "1000",
}


def _sample(campaign_id: str) -> list[str]:
    """The never-mailed contacts the campaign's sample draws (its id decides: domain/deliverability)."""
    sample = BottomK(campaign_id, SAMPLE_SIZE)
    for address in NEW:
        sample.offer(keys.contact_key(address), address)
    return [address for _, address in sample]


SAMPLE = _sample(CAMPAIGN)
#: SES reports one of the sample's emails as a hard bounce, and one as a complaint (33% each: paused).
BOUNCED, COMPLAINED = SAMPLE[0], SAMPLE[1]
HELD = tuple(address for address in NEW if address not in SAMPLE)
CHECK = keys.campaign_check_import_id(CAMPAIGN, 1)
REMEDIATION_REQUEST = "clean-spring-2026"
REMEDIATION = keys.remediation_id_for(ACCOUNT, REMEDIATION_REQUEST)


def _paused_account(stage: Stage) -> None:
    _account(stage, new=NEW, pending=False)


_AWAITING_DELETE = remediation_is(REMEDIATION, RemediationStatus.AWAITING_CONFIRMATION)


def _observing(*args: str) -> Console:
    return console(*args, when=campaign_is(CAMPAIGN, CampaignStatus.OBSERVING))


_PAUSED = campaign_is(CAMPAIGN, CampaignStatus.PAUSED)
_PAUSED_STEPS = (
    _observing("feedback", "simulate", "--campaign", CAMPAIGN, "--account", ACCOUNT, "--bounce", BOUNCED),
    _observing(
        "feedback", "simulate", "--campaign", CAMPAIGN, "--account", ACCOUNT, "--complaint", COMPLAINED
    ),
    _observing("campaigns", "evaluate", CAMPAIGN, "--account", ACCOUNT),
    console(
        "imports", "confirm", CHECK, "--account", ACCOUNT,
        when=import_is(ACCOUNT, CHECK, ImportStatus.AWAITING_CONFIRMATION),
    ),
    # The requeue job settles the check (the schedule's next run would too); nothing is sent yet.
    console("campaigns", "requeue", CAMPAIGN, "--account", ACCOUNT, when=_PAUSED),
    # The customer remediates the declined contact for this campaign: exported, deleted once confirmed,
    # and the campaign marked for requeue.
    console(
        "remediate", "start", "--account", ACCOUNT, "--campaign", CAMPAIGN,
        "--request-id", REMEDIATION_REQUEST, when=_PAUSED,
    ),
    console("remediate", "confirm-delete", REMEDIATION, "--count", "1", when=_AWAITING_DELETE),
    console("campaigns", "requeue", CAMPAIGN, "--account", ACCOUNT, when=_PAUSED),
)  # fmt: skip


CAMPAIGN_PAUSED_REQUEUED = Flow(
    name="campaign-paused-requeued",
    about="a sample bounces: paused, the held contacts checked, a remediation marks it, the requeue sends",
    setup=_paused_account,
    environment=PAUSED_ENVIRONMENT,
    steps=(_create(), _send(), *_PAUSED_STEPS),
    failure=campaign_failed(CAMPAIGN),
    retry=(_send(), *_PAUSED_STEPS),
    expect=(
        CampaignEnds(CAMPAIGN, CampaignStatus.SENT),
        # The sample, then the contacts mailed before and the held ones the check cleared; never the
        # declined (deleted) or blocklisted contact.
        MailedOnce(SUBJECT, frozenset((*MAILED, *NEW))),
        Told(ACCOUNT, EventType.CAMPAIGN_PAUSED),
        Told(ACCOUNT, EventType.REMEDIATION_FINISHED),
    ),
    verified_exports=verified_exports,
)

FLOWS = (CAMPAIGN_SENT, CAMPAIGN_PAUSED_REQUEUED)
