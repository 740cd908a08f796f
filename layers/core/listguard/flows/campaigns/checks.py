"""A paused campaign's unsent new contacts go through the verification check of the import lifecycle.

How: the contacts are held first (flag ``pending``, held by the import that will check them, in the
same sparse indexes as an import's pending contacts), then their addresses are written as an ordinary
import file, ``imports/<account>/<campaign id>-check-<n>.csv``. The S3 event runs ``import_check`` and
the import lifecycle exactly as for a customer's upload: the published rule says whether the customer
must continue, the customer is told, an operator reviews it when the outcome says so, a declined check
counts against the account's standing, and the reports are published.

Why a file rather than a call into the engine: every path of the lifecycle (confirmation, timeout,
review, failure and its retry, notifications, standing) then holds for these contacts with no second
implementation, and the sweep of faults that covers imports covers this too.

The contacts stay ``pending`` until that check ends, because an import never lowers a flag. When the
import comes to rest, ``settle`` gives the contacts it holds their final flag:

| the check import | the contacts it holds |
| --- | --- |
| ``validated`` or ``imported`` | each by its own verdict: ``declined`` if it bounces, else ``none`` |
| ``declined`` | ``declined`` (the import's own outcome already did it) |
| ``in_review`` | stay ``pending``: the operator's decision moves them (the import lifecycle does) |
| ``cancelled`` (by the customer) or ``rejected`` | ``declined``: unchecked, not mailed until remediated |
| ``failed`` | the file is uploaded again, which retries the check |

A cleared list still sheds its individually bad addresses: the campaign's sample showed that these
contacts bounce, so each one's own verdict counts, not only the file's rate. The requeue job settles on
every run; remediation then cleans what was declined and marks the campaign, and the requeue sends to
whoever became sendable.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from listguard.domain import keys
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import FlagStatus, ImportStatus
from listguard.stores import ContactStore, ImportStore
from listguard.stores.campaign_contacts import CampaignContacts, Hold
from listguard.stores.campaigns import CampaignStore
from listguard.stores.ledger import SendLedger
from listguard.verification import BOUNCE_VERDICTS, Verdict

logger = Logger(child=True)

#: The check import rests here: each held contact gets the flag its own verdict says.
CLEARED = frozenset({ImportStatus.VALIDATED, ImportStatus.IMPORTED})
#: What the contacts a check import holds become once it rests here, whatever their verdict.
FLAG_WHEN_CHECK_RESTS: dict[ImportStatus, FlagStatus] = {
    ImportStatus.DECLINED: FlagStatus.DECLINED,
    ImportStatus.CANCELLED: FlagStatus.DECLINED,
    ImportStatus.REJECTED: FlagStatus.DECLINED,
}


@dataclass(frozen=True)
class CampaignChecks:
    campaigns: CampaignStore
    ledger: SendLedger
    contacts: ContactStore
    holds: CampaignContacts
    imports: ImportStore
    s3: Any
    bucket: str
    clock: Callable[[], str]

    def hold(self, campaign: Campaign, contacts: list[dict[str, Any]]) -> int:
        """Hold the never-mailed sendable contacts of one page that have no ledger entry: they are
        the campaign's unsent new contacts. Returns how many this check holds among them."""
        assert campaign.check_import_id is not None
        in_ledger = self.ledger.existing(
            campaign.account, campaign.campaign_id, [keys.contact_key_of_sk(c["sk"]) for c in contacts]
        )
        held = 0
        for contact in contacts:
            if keys.contact_key_of_sk(contact["sk"]) in in_ledger:
                continue
            outcome = self.holds.hold_for_check(
                campaign.account, contact, check_import_id=campaign.check_import_id, now=self.clock()
            )
            held += outcome is not Hold.SKIPPED
        return held

    def request(self, campaign: Campaign) -> int:
        """Write the held contacts' addresses as the check's import file (sorted: the same contacts make
        the same file, and the same file uploaded again is not checked twice). Returns how many."""
        assert campaign.check_import_id is not None
        addresses = sorted(
            (contact.email_key, contact.email)
            for contact in self.contacts.flagged_by(campaign.account, campaign.check_import_id)
        )
        if addresses:
            # Read back by the check's own reader, never opened as a spreadsheet: the addresses are
            # written as they are (a formula guard would change them).
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["email"])
            writer.writerows([email] for _, email in addresses)
            self.s3.put_object(
                Bucket=self.bucket,
                Key=keys.campaign_check_object_key(campaign.account, campaign.campaign_id, campaign.pauses),
                Body=out.getvalue().encode(),
                ContentType="text/csv; charset=utf-8",
            )
        return len(addresses)

    def settle(self, campaign: Campaign) -> str | None:
        """Once the check import rests, give the contacts it holds their final flag (see the module
        doc). Returns the import's status when it settled now, None while it waits. Safe to repeat."""
        if campaign.check_import_id is None or campaign.check_settled_at is not None:
            return None
        record = self.imports.get(campaign.account, campaign.check_import_id)
        if record is None:
            if campaign.held_count == 0:
                return self._settled(campaign, "nothing held")
            return None  # the check has not started yet
        if record.status is ImportStatus.FAILED and record.source_key:
            # Uploading the same file again retries a failed check at once.
            body = self.s3.get_object(Bucket=self.bucket, Key=record.source_key)["Body"].read()
            self.s3.put_object(Bucket=self.bucket, Key=record.source_key, Body=body)
            logger.info(
                "the check of a paused campaign failed; uploaded again", extra={"import_id": record.import_id}
            )
            return None
        if record.status in CLEARED:
            moved = self._settle_each(campaign, campaign.check_import_id)
        elif record.status in FLAG_WHEN_CHECK_RESTS:
            flag = FLAG_WHEN_CHECK_RESTS[record.status]
            moved = self.contacts.resolve_review(
                campaign.account, campaign.check_import_id, flag, now=self.clock()
            )
        else:
            return None
        logger.info(
            "the check of a paused campaign ended",
            extra={"campaign_id": campaign.campaign_id, "status": str(record.status), "moved": moved},
        )
        return self._settled(campaign, str(record.status))

    def _settle_each(self, campaign: Campaign, check_import_id: str) -> int:
        """Each held contact by its own verdict (a verdict that bounces: ``BOUNCE_VERDICTS``)."""
        moved = 0
        for contact in self.contacts.flagged_by(campaign.account, check_import_id):
            bounces = contact.verdict is not None and Verdict(contact.verdict) in BOUNCE_VERDICTS
            moved += self.holds.settle_held(
                campaign.account,
                {**contact.model_dump(mode="json"), "sk": keys.contact_sk(contact.email_key)},
                check_import_id=check_import_id,
                flag=FlagStatus.DECLINED if bounces else FlagStatus.NONE,
                now=self.clock(),
            )
        return moved

    def _settled(self, campaign: Campaign, status: str) -> str:
        self.campaigns.transition(
            campaign.account,
            campaign.campaign_id,
            source=None,
            fields={"check_status": status, "check_settled_at": self.clock()},
            condition="attribute_not_exists(check_settled_at)",
            now=self.clock(),
        )
        return status
